package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The environment is read one way: a flag bound to a variable takes the variable's value when
// the command line leaves the flag unset, parsed as the flag's own value would be.

// envAnnotation is the pflag annotation under which BindEnv records a flag's variable.
const envAnnotation = "sunomi_env"

// BindEnv makes the environment variable env stand in for the flag name when the command
// line leaves it unset (ApplyEnv reads it). Secrets come from the environment in production,
// since flags show in ps.
func BindEnv(fl *pflag.FlagSet, name, env string) {
	if err := fl.SetAnnotation(name, envAnnotation, []string{env}); err != nil {
		panic(err) // a flag that does not exist: a programming error
	}
}

// ApplyEnv sets every flag bound by BindEnv that the command line left unset from its
// environment variable, through the flag's own parser, so a bad value is reported as the
// flag's.
func ApplyEnv(fl *pflag.FlagSet) error {
	var err error
	fl.VisitAll(func(f *pflag.Flag) {
		env := f.Annotations[envAnnotation]
		if err != nil || len(env) == 0 || f.Changed {
			return
		}
		if val := os.Getenv(env[0]); val != "" {
			if setErr := fl.Set(f.Name, val); setErr != nil {
				err = fmt.Errorf("$%s: %w", env[0], setErr)
			}
		}
	})
	return err
}

// ApplyEnvPreRun is a cobra PersistentPreRunE that applies the environment to the flags of
// the command being run, its parents' persistent flags included.
func ApplyEnvPreRun(cmd *cobra.Command, _ []string) error { return ApplyEnv(cmd.Flags()) }
