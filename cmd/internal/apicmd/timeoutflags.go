package apicmd

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/sunomi/sunomi/api"
	"github.com/sunomi/sunomi/internal/cli"
)

// timeoutFlags are the flags of api.TimeoutsConfig, each with its environment variable.
type timeoutFlags struct {
	t             api.TimeoutsConfig
	uploadMinRate string
}

func (f *timeoutFlags) add(fl *pflag.FlagSet) {
	for _, d := range []struct {
		v         *time.Duration
		name, env string
		value     time.Duration
		usage     string
	}{
		{&f.t.ReadHeader, "read-header-timeout", "SUNOMI_READ_HEADER_TIMEOUT", 10 * time.Second, "how long a request's head may take to arrive"},
		{&f.t.BodyRead, "body-read-timeout", "SUNOMI_BODY_READ_TIMEOUT", 30 * time.Second, "how long a request body may take to arrive; uploads get more as they go (--upload-min-rate)"},
		{&f.t.Write, "write-timeout", "SUNOMI_WRITE_TIMEOUT", 2 * time.Minute, "how long a response may take to be written (media downloads and WebSockets have none)"},
		{&f.t.Idle, "idle-timeout", "SUNOMI_IDLE_TIMEOUT", 2 * time.Minute, "how long a keep-alive connection may wait for its next request"},
		{&f.t.WebSocketPing, "websocket-ping", "SUNOMI_WEBSOCKET_PING", 30 * time.Second, "how often a WebSocket is pinged, and how long its pong may take before it is closed"},
	} {
		fl.DurationVar(d.v, d.name, d.value, d.usage+" (or $"+d.env+")")
		cli.BindEnv(fl, d.name, d.env)
	}
	fl.StringVar(&f.uploadMinRate, "upload-min-rate", "64KiB", "bytes a second an upload must keep up: each such amount received adds a second to --body-read-timeout on upload routes (or $SUNOMI_UPLOAD_MIN_RATE)")
	cli.BindEnv(fl, "upload-min-rate", "SUNOMI_UPLOAD_MIN_RATE")
}

// settings checks the timeouts into c.
func (f *timeoutFlags) settings(c *api.TimeoutsConfig) error {
	t := f.t
	for name, d := range map[string]time.Duration{
		"--read-header-timeout": t.ReadHeader, "--body-read-timeout": t.BodyRead, "--write-timeout": t.Write,
		"--idle-timeout": t.Idle, "--websocket-ping": t.WebSocketPing,
	} {
		if d <= 0 {
			return fmt.Errorf("%s must be more than 0", name)
		}
	}
	var err error
	if t.UploadMinRate, err = cli.ParseBytes(f.uploadMinRate); err != nil {
		return fmt.Errorf("--upload-min-rate: %w", err)
	}
	if t.UploadMinRate <= 0 {
		return errors.New("--upload-min-rate must be more than 0")
	}
	*c = t
	return nil
}
