package api

// The caller's profile: the display name (avatars.go has the picture).

import (
	"net/http"
	"strings"

	"github.com/sunomi/sunomi/api/oapi"
)

// UpdateMe edits the caller's display name.
func (s *Server) UpdateMe(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		user, req, err := userRequest[oapi.UpdateMeRequest](w, r)
		if err != nil {
			return err
		}
		if req.DisplayName == nil {
			return errInvalid("nothing to change: send displayName", nil)
		}
		name := strings.TrimSpace(*req.DisplayName)
		if name == "" {
			return errField("displayName", "must not be empty")
		}
		if problem := checkText(name, maxDisplayName, false); problem != "" {
			return errField("displayName", problem)
		}
		// A name is on every comment and video card at once: nothing to hold, only to refuse.
		if rejected, _ := s.terms.screenText(map[string]string{"displayName": name}); len(rejected) > 0 {
			return errInvalid("the display name breaks this site's rules", rejected)
		}
		u, err := s.db.SetDisplayName(r.Context(), user.ID, name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toAPIUser(u))
		return nil
	})
}
