// Package pki is the farm's public-key infrastructure, as Nomad and Consul
// have it: a private certificate authority, certificates that name a node
// and its role (server, agent or client), and TLS configurations that
// require them on both ends. A caller's identity — the role and node name in
// its certificate — is what the coordinator authorizes on; no shared secret
// is.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Role is what a certificate allows its holder to do in the farm.
type Role string

// The roles. A server is a coordinator: a Raft peer that may call
// everything. An agent may only use the agent protocol, for the node its
// certificate names. A client (the API, operators) may read the farm and
// submit or cancel jobs, never act as an agent.
const (
	RoleServer Role = "server"
	RoleAgent  Role = "agent"
	RoleClient Role = "client"
)

// Roles lists every role, for flag validation and messages.
var Roles = []Role{RoleServer, RoleAgent, RoleClient}

// ServerName is the DNS name every server certificate carries and every
// caller verifies, whatever address it dialed — Nomad's
// server.<region>.nomad: an agent that learns coordinator URLs from gossip
// still talks only to coordinators whose certificate this CA signed for a
// server.
const ServerName = "server.sunomi"

// roleUnitPrefix marks the role in the certificate's organizational unit.
const roleUnitPrefix = "sunomi-"

// Lifetimes of what CreateCA and CreateCert write unless told otherwise.
const (
	DefaultCAValidity   = 5 * 365 * 24 * time.Hour
	DefaultCertValidity = 365 * 24 * time.Hour
)

// File names in a CA directory.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
)

// CreateCA writes a new certificate authority, ca.pem and ca-key.pem, into
// dir. It refuses to overwrite an existing one: every certificate of a farm
// hangs off it.
func CreateCA(dir string, validity time.Duration) error {
	if validity <= 0 {
		validity = DefaultCAValidity
	}
	if _, err := os.Stat(filepath.Join(dir, CAKeyFile)); err == nil {
		return fmt.Errorf("%s already holds a CA; remove it first to make a new one", dir)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Sunomi farm CA", Organization: []string{"Sunomi"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	return writePair(dir, CAFile, CAKeyFile, der, key)
}

// CertRequest describes a certificate to issue.
type CertRequest struct {
	Role Role
	// Name is the node's name (its --node-id); agents may act only as it.
	Name string
	// DNS and IPs are extra subject alternative names, for operators who
	// also verify by address.
	DNS      []string
	IPs      []net.IP
	Validity time.Duration
}

// CreateCert issues a certificate signed by the CA in caDir and writes
// NAME.pem and NAME-key.pem into outDir, returning their paths.
func CreateCert(caDir string, req CertRequest, outDir string) (certPath, keyPath string, err error) {
	if !slices.Contains(Roles, req.Role) {
		return "", "", fmt.Errorf("role %q: want server, agent or client", req.Role)
	}
	if !validName(req.Name) {
		return "", "", fmt.Errorf("name %q: use letters, digits, '.', '-' and '_' only", req.Name)
	}
	if req.Validity <= 0 {
		req.Validity = DefaultCertValidity
	}
	caCert, caKey, err := loadCA(caDir)
	if err != nil {
		return "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	notAfter := now.Add(req.Validity)
	if notAfter.After(caCert.NotAfter) {
		notAfter = caCert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject: pkix.Name{CommonName: req.Name, Organization: []string{"Sunomi"},
			OrganizationalUnit: []string{roleUnitPrefix + string(req.Role)}},
		NotBefore:   now.Add(-time.Minute),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		DNSNames:    append([]string{string(req.Role) + ".sunomi"}, req.DNS...),
		IPAddresses: req.IPs,
	}
	if req.Role == RoleServer {
		// Servers also dial each other (Raft, forwarded writes) as clients.
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.DNSNames = append(tmpl.DNSNames, "localhost")
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IPv4(127, 0, 0, 1))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile := req.Name+".pem", req.Name+"-key.pem"
	if err := writePair(outDir, certFile, keyFile, der, key); err != nil {
		return "", "", err
	}
	return filepath.Join(outDir, certFile), filepath.Join(outDir, keyFile), nil
}

// Identity is who a certificate says its holder is.
type Identity struct {
	Role Role
	Name string
}

func (id Identity) String() string { return string(id.Role) + " " + id.Name }

// IdentityOf reads the role and name of a verified certificate.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	var roles []Role
	for _, ou := range cert.Subject.OrganizationalUnit {
		if r, ok := strings.CutPrefix(ou, roleUnitPrefix); ok && slices.Contains(Roles, Role(r)) {
			roles = append(roles, Role(r))
		}
	}
	if len(roles) != 1 {
		return Identity{}, fmt.Errorf("certificate %q names no single Sunomi role", cert.Subject.CommonName)
	}
	if !validName(cert.Subject.CommonName) {
		return Identity{}, fmt.Errorf("certificate name %q is not a node name", cert.Subject.CommonName)
	}
	return Identity{Role: roles[0], Name: cert.Subject.CommonName}, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, nil, fmt.Errorf("read CA: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("read CA key: %w", err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", CAFile, err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, nil, fmt.Errorf("%s holds no PEM key", CAKeyFile)
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", CAKeyFile, err)
	}
	return cert, key, nil
}

func parseCert(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// writePair writes a certificate (world-readable) and its key (owner only).
func writePair(dir, certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, keyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, certFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// NewGossipKey returns a new memberlist encryption key: 32 random bytes,
// base64 as --gossip-key takes it.
func NewGossipKey() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(key)
}
