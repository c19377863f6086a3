package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
)

// Files name a node's TLS material: the CA that signs every certificate of
// the farm, and this node's certificate and key.
type Files struct {
	CA, Cert, Key string
}

// Given reports whether any file is named.
func (f Files) Given() bool { return f.CA != "" || f.Cert != "" || f.Key != "" }

// Material is a node's loaded TLS material. Reload re-reads the files (on
// SIGHUP): connections already open keep going, new handshakes use the new
// certificate and CA, so rotation drops no work.
type Material struct {
	files Files
	mu    sync.RWMutex
	cert  *tls.Certificate
	pool  *x509.CertPool
	self  Identity
}

// Load reads the files named by f, which must all be given.
func Load(f Files) (*Material, error) {
	if f.CA == "" || f.Cert == "" || f.Key == "" {
		return nil, errors.New("TLS needs all three of --tls-ca, --tls-cert and --tls-key")
	}
	m := &Material{files: f}
	return m, m.Reload()
}

// Reload re-reads the files; on error the material in use stays.
func (m *Material) Reload() error {
	caPEM, err := os.ReadFile(m.files.CA)
	if err != nil {
		return fmt.Errorf("read TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("%s holds no PEM certificate", m.files.CA)
	}
	cert, err := tls.LoadX509KeyPair(m.files.Cert, m.files.Key)
	if err != nil {
		return fmt.Errorf("load TLS certificate: %w", err)
	}
	leaf := cert.Leaf
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("%s is not signed by the CA in %s: %w", m.files.Cert, m.files.CA, err)
	}
	self, err := IdentityOf(leaf)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cert != nil && self != m.self {
		return fmt.Errorf("new certificate is for %s, not %s: a node keeps its identity across rotation", self, m.self)
	}
	m.cert, m.pool, m.self = &cert, pool, self
	return nil
}

// Identity is who this node's certificate says it is.
func (m *Material) Identity() Identity {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.self
}

func (m *Material) current() (*tls.Certificate, *x509.CertPool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cert, m.pool
}

// ServerConfig is the TLS configuration of a listener that requires a
// client certificate signed by the CA, from one of the allowed roles (none:
// any role). It follows Reload.
func (m *Material) ServerConfig(allowed ...Role) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cert, pool := m.current()
			return &tls.Config{
				MinVersion:   tls.VersionTLS13,
				Certificates: []tls.Certificate{*cert},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    pool,
				VerifyConnection: func(cs tls.ConnectionState) error {
					_, err := PeerIdentity(cs, allowed...)
					return err
				},
			}, nil
		},
	}
}

// ClientConfig is the TLS configuration for calling coordinators: it
// presents this node's certificate and accepts only a server certificate
// of the same CA, named ServerName, whatever address was dialed.
func (m *Material) ClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, _ := m.current()
			return cert, nil
		},
		// The chain is verified below against the CA of the moment, so that
		// a reloaded CA takes effect without rebuilding HTTP clients;
		// skipping the default verification is what makes that possible.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("coordinator presented no certificate")
			}
			_, pool := m.current()
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter,
				DNSName: ServerName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return fmt.Errorf("coordinator certificate: %w", err)
			}
			_, err := PeerIdentity(cs, RoleServer)
			return err
		},
	}
}

// PeerIdentity is the identity in the verified peer certificate of a
// connection, checked against the allowed roles (none: any role).
func PeerIdentity(cs tls.ConnectionState, allowed ...Role) (Identity, error) {
	if len(cs.PeerCertificates) == 0 {
		return Identity{}, errors.New("no peer certificate")
	}
	id, err := IdentityOf(cs.PeerCertificates[0])
	if err != nil {
		return Identity{}, err
	}
	if len(allowed) > 0 && !slices.Contains(allowed, id.Role) {
		return Identity{}, &RoleError{Got: id, Allowed: allowed}
	}
	return id, nil
}

// RoleError says a certificate's role is not allowed somewhere.
type RoleError struct {
	Got     Identity
	Allowed []Role
}

func (e *RoleError) Error() string {
	var names []string
	for _, r := range e.Allowed {
		names = append(names, string(r))
	}
	return fmt.Sprintf("%s certificate %q may not do this; it needs a %s certificate", e.Got.Role, e.Got.Name, strings.Join(names, " or "))
}
