package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/sunomi/sunomi/cluster/pki"
)

// Who may call what is decided by the role and node name in the caller's
// certificate (cluster/pki). A follower forwarding a write to the leader
// presents its own server certificate, so it names the original caller in
// these headers; the leader believes them only from a server certificate.
const (
	callerRoleHeader = "X-Sunomi-Caller-Role"
	callerNameHeader = "X-Sunomi-Caller-Name"
)

type callerKey struct{}

// identify puts the caller's identity into the request context. Without TLS
// material (--insecure-dev) every caller is a server: nothing is verified.
func (n *Node) identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := n.callerIdentity(r)
		if err != nil {
			writeError(w, http.StatusUnauthorized, err.Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, id)))
	})
}

func (n *Node) callerIdentity(r *http.Request) (pki.Identity, error) {
	if n.cfg.TLS == nil {
		return pki.Identity{Role: pki.RoleServer}, nil
	}
	if r.TLS == nil {
		return pki.Identity{}, errors.New("this coordinator requires HTTPS with a client certificate of the farm's CA")
	}
	id, err := pki.PeerIdentity(*r.TLS)
	if err != nil {
		return pki.Identity{}, err
	}
	if role := r.Header.Get(callerRoleHeader); role != "" && id.Role == pki.RoleServer {
		id = pki.Identity{Role: pki.Role(role), Name: r.Header.Get(callerNameHeader)}
		if !slices.Contains(pki.Roles, id.Role) {
			return pki.Identity{}, fmt.Errorf("forwarded caller role %q is unknown", role)
		}
	}
	return id, nil
}

// callerOf is the identity identify found.
func callerOf(ctx context.Context) pki.Identity {
	id, _ := ctx.Value(callerKey{}).(pki.Identity)
	return id
}

// allow admits callers of the given roles only.
func allow(roles ...pki.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id := callerOf(r.Context()); !slices.Contains(roles, id.Role) {
				writeError(w, http.StatusForbidden, (&pki.RoleError{Got: id, Allowed: roles}).Error())
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// forwardCaller names the caller of r on a request forwarded to the leader,
// replacing whatever the caller itself may have put there.
func forwardCaller(out *http.Request, caller pki.Identity) {
	out.Header.Set(callerRoleHeader, string(caller.Role))
	out.Header.Set(callerNameHeader, caller.Name)
}

// errNotThisAgent refuses an agent certificate acting for another node.
type errNotThisAgent struct{ caller, claimed string }

func (e errNotThisAgent) Error() string {
	return fmt.Sprintf("this agent certificate is for %q; it may not act for agent %q", e.caller, e.claimed)
}

// actingAgent checks that the caller may act as agent id: an agent only as
// the node its certificate names, a server (a coordinator, or anyone under
// --insecure-dev) as any.
func actingAgent(ctx context.Context, id string) error {
	caller := callerOf(ctx)
	if caller.Role == pki.RoleAgent && caller.Name != id {
		return errNotThisAgent{caller: caller.Name, claimed: id}
	}
	return nil
}
