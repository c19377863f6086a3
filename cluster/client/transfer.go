package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"

	"github.com/sunomi/sunomi/cluster/pki"
)

// TransferTLSConfig is the TLS configuration of an agent's transfers through
// presigned URLs. Those point either at a coordinator serving local storage
// — which wants the node's certificate and must present a server
// certificate of the farm's CA — or at object storage such as S3, verified
// the usual way against the system's roots and the URL's host name.
func TransferTLSConfig(tlsm *pki.Material) *tls.Config {
	farm := tlsm.ClientConfig()
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		GetClientCertificate: farm.GetClientCertificate,
		// Both verifications happen in VerifyConnection: the farm's for a
		// coordinator, else the system's.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if farm.VerifyConnection(cs) == nil {
				return nil
			}
			if len(cs.PeerCertificates) == 0 {
				return errors.New("storage presented no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: cs.ServerName, Intermediates: inter})
			return err
		},
	}
}
