package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/sunomi/sunomi/cluster/pki"
)

// TLSFlags are the --tls-ca, --tls-cert and --tls-key flags of every command
// that speaks to the farm, bound to $SUNOMI_TLS_CA, $SUNOMI_TLS_CERT and
// $SUNOMI_TLS_KEY (the command must apply the environment: ApplyEnvPreRun).
type TLSFlags struct {
	CA, Cert, Key string
}

// Register adds the flags to fl; role says whose certificate is expected.
func (t *TLSFlags) Register(fl *pflag.FlagSet, role pki.Role) { t.RegisterPrefixed(fl, "", role) }

// RegisterPrefixed adds the flags under a prefix: the api, which serves
// HTTPS with --tls-cert of its own, calls the farm with --farm-tls-cert
// ($SUNOMI_FARM_TLS_CERT).
func (t *TLSFlags) RegisterPrefixed(fl *pflag.FlagSet, prefix string, role pki.Role) {
	env := "SUNOMI_" + strings.ToUpper(strings.ReplaceAll(prefix, "-", "_")) + "TLS_"
	fl.StringVar(&t.CA, prefix+"tls-ca", "", "PEM file of the farm's CA (or $"+env+"CA)")
	fl.StringVar(&t.Cert, prefix+"tls-cert", "", "PEM file of this node's "+string(role)+" certificate of the farm (or $"+env+"CERT; made by sunomi tls cert create --role "+string(role)+")")
	fl.StringVar(&t.Key, prefix+"tls-key", "", "PEM file of that certificate's private key (or $"+env+"KEY)")
	BindEnv(fl, prefix+"tls-ca", env+"CA")
	BindEnv(fl, prefix+"tls-cert", env+"CERT")
	BindEnv(fl, prefix+"tls-key", env+"KEY")
}

// Files names the files given.
func (t TLSFlags) Files() pki.Files { return pki.Files{CA: t.CA, Cert: t.Cert, Key: t.Key} }

// ReloadOnHangup re-reads m's certificate files at every SIGHUP until ctx
// ends, logging the outcome: certificates are rotated without a restart, so
// without dropping work. A failed reload keeps the material in use. With no
// material (--insecure-dev) SIGHUP is only logged, never fatal.
func ReloadOnHangup(ctx context.Context, log *slog.Logger, m *pki.Material) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			switch err := reload(m); {
			case m == nil:
				log.Warn("SIGHUP: no TLS material to reload (--insecure-dev)")
			case err != nil:
				log.Error("reload of TLS certificates failed; the previous ones stay in use", "error", err)
			default:
				log.Info("reloaded TLS certificates", "identity", m.Identity().String())
			}
		}
	}()
}

func reload(m *pki.Material) error {
	if m == nil {
		return nil
	}
	return m.Reload()
}
