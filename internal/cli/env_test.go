package cli

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestApplyEnv(t *testing.T) {
	newFlags := func() (*pflag.FlagSet, *string, *int) {
		fl := pflag.NewFlagSet("test", pflag.ContinueOnError)
		url := fl.String("url", "", "")
		n := fl.Int("n", 1, "")
		BindEnv(fl, "url", "TEST_SUNOMI_URL")
		BindEnv(fl, "n", "TEST_SUNOMI_N")
		return fl, url, n
	}
	t.Run("unset flags take the environment", func(t *testing.T) {
		t.Setenv("TEST_SUNOMI_URL", "http://from.env")
		t.Setenv("TEST_SUNOMI_N", "7")
		fl, url, n := newFlags()
		if err := fl.Parse(nil); err != nil {
			t.Fatal(err)
		}
		if err := ApplyEnv(fl); err != nil {
			t.Fatal(err)
		}
		if *url != "http://from.env" || *n != 7 {
			t.Errorf("url %q, n %d; want the environment's http://from.env and 7", *url, *n)
		}
	})
	t.Run("the command line wins", func(t *testing.T) {
		t.Setenv("TEST_SUNOMI_URL", "http://from.env")
		fl, url, _ := newFlags()
		if err := fl.Parse([]string{"--url", "http://from.flag"}); err != nil {
			t.Fatal(err)
		}
		if err := ApplyEnv(fl); err != nil {
			t.Fatal(err)
		}
		if *url != "http://from.flag" {
			t.Errorf("url %q, want the command line's http://from.flag", *url)
		}
	})
	t.Run("a bad value names the variable", func(t *testing.T) {
		t.Setenv("TEST_SUNOMI_N", "many")
		fl, _, _ := newFlags()
		if err := fl.Parse(nil); err != nil {
			t.Fatal(err)
		}
		if err := ApplyEnv(fl); err == nil || !strings.HasPrefix(err.Error(), "$TEST_SUNOMI_N: ") {
			t.Errorf("error %v, want one starting with $TEST_SUNOMI_N", err)
		}
	})
}
