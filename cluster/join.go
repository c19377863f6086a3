package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
)

// A coordinator becomes a voter only by proving who it is: it calls
// POST /v1/cluster/join with its server certificate (the route admits no
// other role), and the leader adds it under the name that certificate
// carries. Gossip metadata, which anyone holding the gossip key can write,
// never makes a voter.

// joinRetry is how often a coordinator outside the configuration asks again.
const joinRetry = time.Second

// joinRequest is the body of POST /v1/cluster/join.
type joinRequest struct {
	// ID is the joining node's name; with TLS it must be the name in its
	// server certificate.
	ID string `json:"id"`
	// Raft is the address its Raft transport listens on.
	Raft string `json:"raft"`
}

// joinCluster adds the calling coordinator as a voter (leader only: the
// route forwards to it).
func (n *Node) joinCluster(w http.ResponseWriter, r *http.Request) {
	var req joinRequest
	if !decode(w, r, &req) {
		return
	}
	if req.ID == "" || req.Raft == "" {
		writeError(w, http.StatusBadRequest, "id and raft are required")
		return
	}
	if caller := callerOf(r.Context()); n.cfg.TLS != nil && caller.Name != req.ID {
		writeError(w, http.StatusForbidden, fmt.Sprintf("this server certificate is for %q; it may not join as %q", caller.Name, req.ID))
		return
	}
	if n.inConfiguration(req.ID, req.Raft) {
		writeJSON(w, http.StatusOK, req)
		return
	}
	if err := n.raft.AddVoter(raft.ServerID(req.ID), raft.ServerAddress(req.Raft), 0, 10*time.Second).Error(); err != nil {
		n.log.Warn("add voter failed", "peer", req.ID, "error", err)
		writeError(w, http.StatusServiceUnavailable, "add voter: "+err.Error())
		return
	}
	n.log.Info("added voter", "peer", req.ID, "raft", req.Raft)
	writeJSON(w, http.StatusOK, req)
}

// inConfiguration reports whether the Raft configuration holds id at addr.
func (n *Node) inConfiguration(id, addr string) bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	return slices.ContainsFunc(f.Configuration().Servers, func(s raft.Server) bool {
		return string(s.ID) == id && string(s.Address) == addr
	})
}

// maybeJoin asks the leader, through any coordinator the pool knows, to add
// this node while it is missing from the configuration it has seen.
func (n *Node) maybeJoin(ctx context.Context) {
	self := string(n.trans.LocalAddr())
	if time.Now().Before(n.joinAfter) || n.inConfiguration(n.cfg.NodeID, self) {
		return
	}
	n.joinAfter = time.Now().Add(joinRetry)
	var targets []string
	if leader := n.leaderHTTP(); leader != "" && leader != n.httpURL() {
		targets = append(targets, leader)
	}
	for _, m := range n.gossip.Members() {
		if m.Meta.Role == RoleCoordinator && m.Name != n.cfg.NodeID && m.Meta.HTTP != "" && !slices.Contains(targets, m.Meta.HTTP) {
			targets = append(targets, m.Meta.HTTP)
		}
	}
	for _, target := range targets {
		err := n.requestJoin(ctx, target, joinRequest{ID: n.cfg.NodeID, Raft: self})
		if err == nil {
			n.log.Info("asked to join as a voter", "via", target)
			return
		}
		n.log.Debug("join request failed", "via", target, "error", err)
	}
}

func (n *Node) requestJoin(ctx context.Context, base string, req joinRequest) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/cluster/join", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: n.peers}).Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var e wire.Error
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(b, &e)
	return fmt.Errorf("%s (HTTP %d)", e.Error, resp.StatusCode)
}

// verifyPeer checks, before a bootstrap counts a gossip member in, that its
// Raft address presents a server certificate of the farm's CA in the
// member's name. Under --insecure-dev there is nothing to verify.
func (n *Node) verifyPeer(m Member) error {
	if n.cfg.TLS == nil || m.Name == n.cfg.NodeID {
		return nil
	}
	conn, err := dialServer(m.Meta.Raft, 5*time.Second, n.cfg.TLS)
	if err != nil {
		return err
	}
	defer conn.Close()
	id, err := pki.PeerIdentity(conn.ConnectionState(), pki.RoleServer)
	if err != nil {
		return err
	}
	if id.Name != m.Name {
		return fmt.Errorf("raft address %s presents the certificate of %q, not %q", m.Meta.Raft, id.Name, m.Name)
	}
	return nil
}
