package apicmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/sunomi/sunomi/api"
	"github.com/sunomi/sunomi/internal/cli"
)

// Server is the api service serving HTTP on a listener, from Start to Close.
type Server struct {
	api    *api.Server
	http   *http.Server
	served chan error
}

// Start builds the service of cfg, starts its background work and serves it on ln, over TLS
// when tlsConfig is set. It logs through cfg.Logger.
func Start(ctx context.Context, ln net.Listener, cfg api.Config, tlsConfig *tls.Config) (*Server, error) {
	srv, err := api.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	s := &Server{
		api:    srv,
		http:   httpServer(srv.Handler(), tlsConfig, srv.Timeouts(), cfg.Logger),
		served: make(chan error, 1),
	}
	go func() {
		if tlsConfig != nil {
			s.served <- s.http.ServeTLS(ln, "", "")
		} else {
			s.served <- s.http.Serve(ln)
		}
	}()
	return s, nil
}

// httpServer is the HTTP server of handler h, under the service's timeouts t.
func httpServer(h http.Handler, tlsConfig *tls.Config, t api.TimeoutsConfig, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: t.ReadHeader,
		// No server-wide ReadTimeout or WriteTimeout: they would apply to every route alike,
		// and uploads need longer than JSON while WebSockets live for the whole transcode.
		// The service sets body read and response write deadlines per request instead
		// (api.TimeoutsConfig), and pings its WebSockets. Idle keep-alive connections close.
		IdleTimeout: t.Idle,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// ServeMetrics serves the service's metrics, with the Go runtime's and the process's, at
// /metrics on s.MetricsAddr when it is set, registering them in s.Config; bound is the address
// it listens on ("" when not served). The public listener never serves them.
func (s *Settings) ServeMetrics() (bound string, stop func(), err error) {
	if s.MetricsAddr == "" {
		return "", func() {}, nil
	}
	reg := cli.NewRegistry()
	s.Config.Metrics = reg
	return cli.ServeMetrics(s.MetricsAddr, reg)
}

// Failed delivers the error that stopped serving before Close.
func (s *Server) Failed() <-chan error { return s.served }

// Close stops taking connections, lets the requests in flight finish, then stops the
// service's background work and WebSockets, all until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	if err := s.http.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stop http: %w", err))
	}
	if err := s.api.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stop api: %w", err))
	}
	return errors.Join(errs...)
}
