package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// Signed-in devices: every session remembers the browser and network it was last used from
// (at sign-in and at each refresh), so that its owner can recognise it in GET /me/sessions
// and end the ones they do not with DELETE /me/sessions/{id}.

// maxUserAgent bounds what is kept of a User-Agent: a header the client chooses.
const maxUserAgent = 512

// deviceOf is the device of a request: its User-Agent, cut to maxUserAgent, and its network.
func (s *Server) deviceOf(r *http.Request) store.Device {
	ua := strings.ToValidUTF8(r.UserAgent(), "")
	for len(ua) > maxUserAgent {
		_, size := utf8.DecodeLastRuneInString(ua)
		ua = ua[:len(ua)-size]
	}
	return store.Device{UserAgent: ua, Network: reporterPrefix(s.clientIP(r))}
}

// ListMySessions lists the caller's live sessions, the one of this request marked current.
func (s *Server) ListMySessions(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		user, err := requireUser(r)
		if err != nil {
			return err
		}
		sessions, err := s.db.UserSessions(r.Context(), user.ID)
		if err != nil {
			return err
		}
		current := callerSession(r)
		out := oapi.DeviceSessionList{Items: make([]oapi.DeviceSession, 0, len(sessions))}
		for _, sn := range sessions {
			item := oapi.DeviceSession{Id: strconv.FormatInt(sn.ID, 10), CreatedAt: sn.CreatedAt, LastUsedAt: sn.LastUsedAt,
				Device: deviceLabel(sn.UserAgent), Current: sn.ID == current}
			if sn.UserAgent != "" {
				item.UserAgent = &sn.UserAgent
			}
			if sn.Network != "" {
				item.Network = &sn.Network
			}
			out.Items = append(out.Items, item)
		}
		writePrivateJSON(w, out)
		return nil
	})
}

var errNoSuchSession = &httpError{status: http.StatusNotFound, code: codeNotFound,
	message: "no such session: it has ended already, or it is not yours"}

// EndMySession ends one of the caller's sessions. Another user's session is answered as one
// that does not exist, so ids of others' sessions cannot be probed.
func (s *Server) EndMySession(w http.ResponseWriter, r *http.Request, sessionID string) {
	s.handle(w, r, func() error {
		user, err := requireUser(r)
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(sessionID, 10, 64)
		if err != nil || id <= 0 {
			return errNoSuchSession
		}
		err = s.db.EndUserSession(r.Context(), user.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return errNoSuchSession
		}
		if err != nil {
			return err
		}
		s.log.Info("session ended from the device list", "user_id", user.ID, "session_id", id)
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// browserNames and systemNames recognise browsers and systems in a User-Agent, most specific first: Edge
// and Opera also say Chrome, Chrome also says Safari, Android also says Linux.
var (
	browserNames = []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chromium/", "Chromium"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	}
	systemNames = []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"CrOS", "ChromeOS"},
		{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	}
)

// deviceLabel is a short name of the device a User-Agent describes, such as "Firefox on
// Linux"; for a client that is no known browser, its first product token ("curl").
func deviceLabel(ua string) string {
	find := func(names []struct{ token, name string }) string {
		for _, n := range names {
			if strings.Contains(ua, n.token) {
				return n.name
			}
		}
		return ""
	}
	browser, system := find(browserNames), find(systemNames)
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	}
	product, _, _ := strings.Cut(ua, "/")
	if product = strings.TrimSpace(product); product == "" || strings.ContainsAny(product, " ;()") {
		return "Unknown device"
	}
	return product
}
