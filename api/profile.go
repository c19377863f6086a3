package api

// The caller's profile: the display name (avatars.go has the picture).

import (
	"net/http"
	"strings"

	"github.com/sunomi/sunomi/api/oapi"
)

// UpdateMe edits the caller's display name.
func (s *Server) UpdateMe(w http.ResponseWriter, r *http.Request) {
	user, err := requireUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req oapi.UpdateMeRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.DisplayName == nil {
		s.fail(w, r, errInvalid("nothing to change: send displayName", nil))
		return
	}
	name := strings.TrimSpace(*req.DisplayName)
	if name == "" {
		s.fail(w, r, errField("displayName", "must not be empty"))
		return
	}
	if problem := checkText(name, maxDisplayName, false); problem != "" {
		s.fail(w, r, errField("displayName", problem))
		return
	}
	// A name is on every comment and video card at once: nothing to hold, only to refuse.
	if rejected, _ := s.terms.screenText(map[string]string{"displayName": name}); len(rejected) > 0 {
		s.fail(w, r, errInvalid("the display name breaks this site's rules", rejected))
		return
	}
	u, err := s.db.SetDisplayName(r.Context(), user.ID, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIUser(u))
}
