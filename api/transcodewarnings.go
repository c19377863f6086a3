package api

import (
	"net/http"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// addTranscodeWarnings shows the video's owner and moderators what transcoding found wrong in
// the upload; viewers never see it.
func (s *Server) addTranscodeWarnings(r *http.Request, v store.Video, out *oapi.Video) error {
	user, signedIn := caller(r)
	if !ownerOrModerator(v, user, signedIn) {
		return nil
	}
	ws, err := s.db.TranscodeWarnings(r.Context(), v.ID)
	if err != nil {
		return err
	}
	if len(ws) > 0 {
		out.TranscodeWarnings = &ws
	}
	return nil
}
