// Package pkitest issues a farm's certificates for tests: a CA in a
// temporary directory and certificates of each role signed by it, written
// the way `sunomi tls` writes them.
package pkitest

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/sunomi/sunomi/cluster/pki"
)

// CA is a certificate authority in a temporary directory.
type CA struct {
	Dir string
	tb  testing.TB
}

// New creates a CA for the test.
func New(tb testing.TB) *CA {
	tb.Helper()
	dir := tb.TempDir()
	if err := pki.CreateCA(dir, 0); err != nil {
		tb.Fatal(err)
	}
	return &CA{Dir: dir, tb: tb}
}

// CAFile is the path of the CA's certificate.
func (ca *CA) CAFile() string { return filepath.Join(ca.Dir, pki.CAFile) }

// Issue writes a certificate of role for name into dir (replacing one
// already there, as a rotation does) and names the files.
func (ca *CA) Issue(role pki.Role, name, dir string) pki.Files {
	ca.tb.Helper()
	cert, key, err := pki.CreateCert(ca.Dir, pki.CertRequest{Role: role, Name: name}, dir)
	if err != nil {
		ca.tb.Fatal(err)
	}
	return pki.Files{CA: ca.CAFile(), Cert: cert, Key: key}
}

// Files issues a certificate of role for name into a new directory.
func (ca *CA) Files(role pki.Role, name string) pki.Files {
	ca.tb.Helper()
	return ca.Issue(role, name, ca.tb.TempDir())
}

// Material issues a certificate of role for name and loads it.
func (ca *CA) Material(role pki.Role, name string) *pki.Material {
	ca.tb.Helper()
	m, err := pki.Load(ca.Files(role, name))
	if err != nil {
		ca.tb.Fatal(err)
	}
	return m
}

// ReadCert parses the PEM certificate at path.
func ReadCert(tb testing.TB, path string) *x509.Certificate {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		tb.Fatalf("%s holds no PEM", path)
		return nil // not reached: Fatalf ends the test
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
