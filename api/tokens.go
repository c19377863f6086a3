package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SigningKey is one HMAC key for access tokens, named by the kid header of tokens it signs.
type SigningKey struct {
	ID     string
	Secret []byte
}

// ParseSigningKeys reads "kid:secret,kid:secret" (the first key signs, every key verifies), the
// format of --jwt-keys and SUNOMI_JWT_KEYS. Rotating is: put a new key first, keep the old one
// until the tokens it signed have expired, then drop it.
func ParseSigningKeys(s string) ([]SigningKey, error) {
	var keys []SigningKey
	seen := map[string]bool{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, secret, ok := strings.Cut(item, ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("signing key %q: write it as kid:secret", truncate(item, 8))
		}
		if len(secret) < 32 {
			return nil, fmt.Errorf("signing key %q: the secret must be at least 32 characters", id)
		}
		if seen[id] {
			return nil, fmt.Errorf("signing key %q appears twice", id)
		}
		seen[id] = true
		keys = append(keys, SigningKey{ID: id, Secret: []byte(secret)})
	}
	if len(keys) == 0 {
		return nil, errors.New("no signing keys: give at least one kid:secret")
	}
	return keys, nil
}

// RandomSigningKey makes a key for a single process (sunomi dev, tests); its tokens die with it.
func RandomSigningKey() SigningKey {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return SigningKey{ID: "k" + hex.EncodeToString(b[:4]), Secret: []byte(hex.EncodeToString(b))}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tokenIssuer names Sunomi in the iss claim and guards against tokens minted for other uses.
const tokenIssuer = "sunomi"

// accessClaims are an access token's claims: the user (sub) and the session it belongs to
// (sid), which every request checks is still live.
type accessClaims struct {
	jwt.RegisteredClaims
	SessionID int64 `json:"sid"`
}

// issueToken signs an access token for a user id in a session.
func (s *Server) issueToken(userID, sessionID int64) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(s.cfg.Auth.TokenTTL)
	key := s.cfg.Auth.SigningKeys[0]
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tokenIssuer,
			Subject:   strconv.FormatInt(userID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		SessionID: sessionID,
	})
	tok.Header["kid"] = key.ID
	signed, err := tok.SignedString(key.Secret)
	return signed, exp, err
}

// parseToken verifies an access token and returns its user and session ids. A token without
// a session (signed before sessions existed) is refused: its user signs in again.
func (s *Server) parseToken(raw string) (userID, sessionID int64, err error) {
	var claims accessClaims
	_, err = jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		for _, k := range s.cfg.Auth.SigningKeys {
			if k.ID == kid {
				return k.Secret, nil
			}
		}
		return nil, fmt.Errorf("unknown key id %q", kid)
	}, jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(tokenIssuer),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now))
	if err != nil {
		return 0, 0, err
	}
	if userID, err = strconv.ParseInt(claims.Subject, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("token subject %q: %w", claims.Subject, err)
	}
	if claims.SessionID <= 0 {
		return 0, 0, errors.New("the token names no session")
	}
	return userID, claims.SessionID, nil
}
