package api

// Views, resume positions and the watch history.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

const (
	// A view counts once per viewer per viewWindow.
	viewWindow = 24 * time.Hour
	// maxPosition bounds a resume position (about four months of video): anything larger is
	// a client bug, not a position.
	maxPosition = 1e7
)

// viewerHash identifies an anonymous viewer by an HMAC of their client network (an IPv4
// address, an IPv6 /64) under a salt derived from the media secret, so the views table never
// holds an address and the hash cannot be reversed by trying every IPv4 address without the
// secret. The User-Agent is left out on purpose: a client chooses it freely, so a loop that
// changed it at every request would count as a new viewer each time.
func (s *Server) viewerHash(r *http.Request) []byte {
	salt := hmac.New(sha256.New, s.cfg.MediaSecret)
	salt.Write([]byte("sunomi anonymous viewer salt v2"))
	mac := hmac.New(sha256.New, salt.Sum(nil))
	mac.Write([]byte(s.clientNetwork(r)))
	return mac.Sum(nil)
}

// RecordView counts a view once per viewer per 24 h and saves a signed-in viewer's resume
// position. The body is optional.
func (s *Server) RecordView(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		var req oapi.ViewRequest
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
			if err != nil {
				return errInvalid("could not read the request body", nil)
			}
			if len(bytes.TrimSpace(data)) > 0 {
				r.Body = io.NopCloser(bytes.NewReader(data))
				if err := decode(w, r, &req); err != nil {
					return err
				}
			}
		}
		if p := req.PositionSeconds; p != nil && (*p < 0 || *p > maxPosition || math.IsNaN(*p)) {
			return errField("positionSeconds", "must be a position in the video, in seconds")
		}
		v, err := s.visibleVideo(r, id)
		if err != nil {
			return err
		}
		if v.Status != store.StatusReady && v.Status != store.StatusProcessing {
			// Nothing to watch yet (the owner looking at an upload).
			writeJSON(w, http.StatusOK, oapi.ViewResult{Counted: false, Views: v.Views})
			return nil
		}
		view := store.View{VideoID: v.ID, At: s.now(), Window: viewWindow}
		if user, ok := caller(r); ok {
			view.UserID, view.Position = user.ID, req.PositionSeconds
		} else {
			view.Viewer = s.viewerHash(r)
		}
		counted, views, err := s.db.RecordView(r.Context(), view)
		err = orNotFound(err, errNotFound)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, oapi.ViewResult{Counted: counted, Views: views})
		return nil
	})
}

// ListHistory lists the videos the caller watched, most recent first, with resume positions.
func (s *Server) ListHistory(w http.ResponseWriter, r *http.Request, params oapi.ListHistoryParams) {
	s.handle(w, r, func() error {
		user, err := requireUser(r)
		if err != nil {
			return err
		}
		entries, next, err := readPage(r.Context(), pageParams, params.Cursor, params.Limit,
			func(ctx context.Context, after *store.Cursor, n int) ([]store.HistoryEntry, error) {
				return s.db.History(ctx, user.ID, user.CanModerate(), after, n)
			},
			func(e store.HistoryEntry) string {
				return encodeCursor(store.Cursor{Time: e.WatchedAt, ID: e.Video.ID})
			})
		if err != nil {
			return err
		}
		page := oapi.HistoryPage{Items: make([]oapi.HistoryItem, 0, len(entries)), NextCursor: next}
		for _, e := range entries {
			page.Items = append(page.Items, oapi.HistoryItem{Video: s.toAPIVideo(r, e.Video), PositionSeconds: e.Position, WatchedAt: e.WatchedAt})
		}
		writePrivateJSON(w, page)
		return nil
	})
}

// GetHistoryPosition is where the caller stopped watching one video, for the player's
// "resume at"; 204 when they never watched it (or cleared their history since), an ordinary
// answer for every first visit of a video, so not an error.
func (s *Server) GetHistoryPosition(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		user, err := requireUser(r)
		if err != nil {
			return err
		}
		position, at, err := s.db.HistoryPosition(r.Context(), user.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			w.Header().Set("Cache-Control", "private, no-cache")
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		if err != nil {
			return err
		}
		writePrivateJSON(w, oapi.HistoryPosition{PositionSeconds: position, WatchedAt: at})
		return nil
	})
}

// ClearHistory forgets the caller's watch history and resume positions.
func (s *Server) ClearHistory(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		user, err := requireUser(r)
		if err != nil {
			return err
		}
		if err := s.db.ClearHistory(r.Context(), user.ID); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
