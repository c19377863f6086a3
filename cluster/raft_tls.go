package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sunomi/sunomi/cluster/pki"
)

// raftHandshakeTimeout bounds a Raft connection's TLS handshake, so that a
// peer that connects and says nothing holds no goroutine for long.
const raftHandshakeTimeout = 10 * time.Second

// tlsStreamLayer carries Raft over mutual TLS: it accepts only connections
// presenting a server certificate of the farm's CA, and dials peers with this
// node's certificate, accepting only a server certificate in return. Whoever
// holds an agent or client certificate, or one of another CA, never gets a
// Raft RPC through — neither to vote nor to read the replicated log.
type tlsStreamLayer struct {
	ln        net.Listener
	advertise net.Addr
	material  *pki.Material
	log       *slog.Logger

	// accepted delivers connections whose handshake succeeded; handshakes
	// run beside the accept loop so that one slow peer stalls no other.
	accepted chan net.Conn
	closed   chan struct{}
	once     sync.Once
}

var _ raft.StreamLayer = (*tlsStreamLayer)(nil)

// newTLSStreamLayer listens on bind; advertise is the address peers dial.
func newTLSStreamLayer(bind string, advertise net.Addr, m *pki.Material, log *slog.Logger) (*tlsStreamLayer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	s := &tlsStreamLayer{ln: ln, advertise: advertise, material: m, log: log.With("component", "raft_tls"),
		accepted: make(chan net.Conn), closed: make(chan struct{})}
	go s.acceptLoop()
	return s, nil
}

func (s *tlsStreamLayer) acceptLoop() {
	cfg := s.material.ServerConfig(pki.RoleServer)
	for {
		raw, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("raft accept failed", "error", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go s.handshake(tls.Server(raw, cfg))
	}
}

func (s *tlsStreamLayer) handshake(conn *tls.Conn) {
	_ = conn.SetDeadline(time.Now().Add(raftHandshakeTimeout))
	if err := conn.Handshake(); err != nil {
		s.log.Warn("refused raft connection", "remote", conn.RemoteAddr().String(), "error", err)
		conn.Close()
		return
	}
	_ = conn.SetDeadline(time.Time{})
	select {
	case s.accepted <- conn:
	case <-s.closed:
		conn.Close()
	}
}

// Accept returns the next connection of a verified server.
func (s *tlsStreamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.accepted:
		return c, nil
	case <-s.closed:
		return nil, net.ErrClosed
	}
}

// Close stops listening; connections already handed to Raft are its own.
func (s *tlsStreamLayer) Close() error {
	s.once.Do(func() { close(s.closed) })
	return s.ln.Close()
}

// Addr is the address this node advertises for Raft.
func (s *tlsStreamLayer) Addr() net.Addr { return s.advertise }

// Dial connects to a peer and verifies that it presents a server
// certificate of the farm's CA.
func (s *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialServer(string(address), timeout, s.material)
}

// dialServer opens a mutual-TLS connection to a coordinator's address and
// completes the handshake, which verifies the peer's server certificate.
func dialServer(address string, timeout time.Duration, m *pki.Material) (*tls.Conn, error) {
	raw, err := net.DialTimeout("tcp", address, timeout)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, m.ClientConfig())
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if err := conn.Handshake(); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", address, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}
