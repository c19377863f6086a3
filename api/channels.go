package api

// Channels (a user's public page and videos), subscriptions and the subscription feed.

import (
	"context"
	"errors"
	"net/http"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

var errNoSuchUser = &httpError{status: http.StatusNotFound, code: codeNotFound, message: "no such user"}

func (s *Server) channelUser(r *http.Request, username string) (store.User, error) {
	u, err := s.db.UserByUsername(r.Context(), username)
	if errors.Is(err, store.ErrNotFound) {
		return u, errNoSuchUser
	}
	return u, err
}

// GetChannel is a user's public channel page.
func (s *Server) GetChannel(w http.ResponseWriter, r *http.Request, username oapi.Username) {
	s.handle(w, r, func() error {
		u, err := s.channelUser(r, username)
		if err != nil {
			return err
		}
		me, signedIn := caller(r)
		stats, err := s.db.ChannelStats(r.Context(), u.ID, me.ID)
		if err != nil {
			return err
		}
		bio, err := s.db.Bio(r.Context(), u.ID)
		if err != nil {
			return err
		}
		out := oapi.ChannelPage{Username: u.Username, DisplayName: u.DisplayName, CreatedAt: u.CreatedAt,
			SubscriberCount: stats.Subscribers, VideoCount: stats.Videos, Bio: &bio}
		if u.AvatarURL != "" {
			out.AvatarUrl = &u.AvatarURL
		}
		if signedIn {
			out.Subscribed = &stats.Subscribed
			w.Header().Set("Cache-Control", "private, no-cache")
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

// ListChannelVideos lists a channel's public, ready videos, newest first.
func (s *Server) ListChannelVideos(w http.ResponseWriter, r *http.Request, username oapi.Username, params oapi.ListChannelVideosParams) {
	s.handle(w, r, func() error {
		u, err := s.channelUser(r, username)
		if err != nil {
			return err
		}
		page, err := s.videoList(r, params.Cursor, params.Limit, publishedAt, func(ctx context.Context, after *store.Cursor, n int) ([]store.Video, error) {
			return s.db.ListChannel(ctx, u.ID, after, n)
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, page)
		return nil
	})
}

// Subscribe subscribes the caller to a channel; subscribing again changes nothing.
func (s *Server) Subscribe(w http.ResponseWriter, r *http.Request, username oapi.Username) {
	s.handle(w, r, func() error { return s.subscribe(w, r, username, true) })
}

// Unsubscribe ends the caller's subscription, if any.
func (s *Server) Unsubscribe(w http.ResponseWriter, r *http.Request, username oapi.Username) {
	s.handle(w, r, func() error { return s.subscribe(w, r, username, false) })
}

// subscribe turns the caller's subscription to a channel on or off, and answers with its
// state.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request, username string, on bool) error {
	user, err := requireUser(r)
	if err != nil {
		return err
	}
	channel, err := s.channelUser(r, username)
	if err == nil && on && channel.ID == user.ID {
		err = errInvalid("you cannot subscribe to your own channel", nil)
	}
	if err != nil {
		return err
	}
	n, err := s.db.Subscribe(r.Context(), user.ID, channel.ID, on)
	err = orNotFound(err, errNoSuchUser) // the channel's account was deleted a moment ago
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, oapi.Subscription{Subscribed: on, SubscriberCount: n})
	return nil
}

// GetFeed lists the newest videos of the channels the caller subscribes to.
func (s *Server) GetFeed(w http.ResponseWriter, r *http.Request, params oapi.GetFeedParams) {
	s.handle(w, r, func() error {
		return s.callerVideoList(w, r, params.Cursor, params.Limit, publishedAt, s.db.Feed)
	})
}
