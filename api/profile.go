package api

// The caller's profile: the display name and the channel's bio (avatars.go has the picture).

import (
	"net/http"
	"strings"

	"github.com/sunomi/sunomi/api/oapi"
)

// maxBio bounds a channel description: a few paragraphs, not a page.
const maxBio = 1000

// UpdateMe edits the caller's display name and channel description (bio); either may be left out.
func (s *Server) UpdateMe(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		user, req, err := userRequest[oapi.UpdateMeRequest](w, r)
		if err != nil {
			return err
		}
		if req.DisplayName == nil && req.Bio == nil {
			return errInvalid("nothing to change: send displayName or bio", nil)
		}
		fields := map[string]string{}
		name, bio := "", ""
		if req.DisplayName != nil {
			name = strings.TrimSpace(*req.DisplayName)
			if name == "" {
				fields["displayName"] = "must not be empty"
			} else if problem := checkText(name, maxDisplayName, false); problem != "" {
				fields["displayName"] = problem
			}
		}
		if req.Bio != nil {
			bio = strings.TrimSpace(*req.Bio)
			if problem := checkText(bio, maxBio, true); problem != "" {
				fields["bio"] = problem
			}
		}
		if len(fields) > 0 {
			return errInvalid("some fields are invalid", fields)
		}
		// Both are on public pages at once: nothing to hold, only to refuse.
		if rejected, _ := s.terms.screenText(map[string]string{"displayName": name, "bio": bio}); len(rejected) > 0 {
			return errInvalid("the profile breaks this site's rules", rejected)
		}
		ctx := r.Context()
		if req.Bio != nil {
			if err := s.db.SetBio(ctx, user.ID, bio); err != nil {
				return err
			}
		}
		u := user
		if req.DisplayName != nil {
			if u, err = s.db.SetDisplayName(ctx, user.ID, name); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, toAPIUser(u))
		return nil
	})
}
