package main

import (
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/cluster/pki"
)

// newTLSCmd is `sunomi tls`: the farm's CA and the certificates of its
// servers, agents and clients, as `nomad tls` makes them.
func newTLSCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tls", Short: "Create the farm's certificate authority and its nodes' certificates"}
	ca := &cobra.Command{Use: "ca", Short: "Manage the farm's certificate authority"}
	ca.AddCommand(newTLSCACreateCmd())
	cert := &cobra.Command{Use: "cert", Short: "Issue certificates signed by the farm's CA"}
	cert.AddCommand(newTLSCertCreateCmd())
	cmd.AddCommand(ca, cert)
	return cmd
}

func newTLSCACreateCmd() *cobra.Command {
	var (
		out  string
		days int
	)
	cmd := &cobra.Command{
		Use:   "create -o DIR",
		Short: "Write a new CA, ca.pem and ca-key.pem, into DIR",
		Long: `Write a new certificate authority for a farm: DIR/ca.pem (give it to every node with
--tls-ca) and DIR/ca-key.pem (keep it offline: whoever holds it can mint a server certificate).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := pki.CreateCA(out, validity(days)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "==> CA certificate saved to %s\n==> CA certificate key saved to %s\n",
				filepath.Join(out, pki.CAFile), filepath.Join(out, pki.CAKeyFile))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", ".", "directory to write ca.pem and ca-key.pem into")
	cmd.Flags().IntVar(&days, "days", int(pki.DefaultCAValidity/(24*time.Hour)), "days the CA is valid")
	return cmd
}

func newTLSCertCreateCmd() *cobra.Command {
	var (
		caDir, role, name, out string
		dns, ips               []string
		days                   int
	)
	cmd := &cobra.Command{
		Use:   "create --ca DIR --role server|agent|client --name NAME -o DIR",
		Short: "Issue a certificate for a coordinator (server), an agent, or the API and operators (client)",
		Long: `Issue a certificate signed by the CA in --ca, written to DIR/NAME.pem and DIR/NAME-key.pem.
The role decides what its holder may do:
  server  a coordinator: Raft peer, may become a voter, may call everything
  agent   an agent: only the agent protocol, only for the node NAME
  client  the API and operators: read the farm, submit and cancel jobs
NAME is the node's --node-id for servers and agents.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := pki.CertRequest{Role: pki.Role(role), Name: name, DNS: dns, Validity: validity(days)}
			for _, s := range ips {
				ip := net.ParseIP(s)
				if ip == nil {
					return fmt.Errorf("--ip %q is not an IP address", s)
				}
				req.IPs = append(req.IPs, ip)
			}
			cert, key, err := pki.CreateCert(caDir, req, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "==> %s certificate saved to %s\n==> %s certificate key saved to %s\n", role, cert, role, key)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&caDir, "ca", ".", "directory holding ca.pem and ca-key.pem")
	fl.StringVar(&role, "role", "", "server, agent or client (required)")
	fl.StringVar(&name, "name", "", "node name: the --node-id of a coordinator or agent (required)")
	fl.StringSliceVar(&dns, "dns", nil, "extra DNS names the certificate is valid for (repeatable)")
	fl.StringSliceVar(&ips, "ip", nil, "extra IP addresses the certificate is valid for (repeatable)")
	fl.IntVar(&days, "days", int(pki.DefaultCertValidity/(24*time.Hour)), "days the certificate is valid (at most the CA's)")
	fl.StringVarP(&out, "out", "o", ".", "directory to write NAME.pem and NAME-key.pem into")
	_ = cmd.MarkFlagRequired("role")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func validity(days int) time.Duration { return time.Duration(days) * 24 * time.Hour }

// newGossipCmd is `sunomi gossip keygen`: the key that encrypts the
// memberlist pool, given to every coordinator and agent (--gossip-key).
func newGossipCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "gossip", Short: "Manage the gossip pool's encryption key"}
	cmd.AddCommand(&cobra.Command{
		Use:   "keygen",
		Short: "Print a new gossip encryption key (32 random bytes, base64) for --gossip-key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), pki.NewGossipKey())
			return err
		},
	})
	return cmd
}
