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

// issueToken signs an access token for a user id.
func (s *Server) issueToken(userID int64) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(s.cfg.Auth.TokenTTL)
	key := s.cfg.Auth.SigningKeys[0]
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer:    tokenIssuer,
		Subject:   strconv.FormatInt(userID, 10),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	})
	tok.Header["kid"] = key.ID
	signed, err := tok.SignedString(key.Secret)
	return signed, exp, err
}

// parseToken verifies an access token and returns its user id.
func (s *Server) parseToken(raw string) (int64, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
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
		return 0, err
	}
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("token subject %q: %w", claims.Subject, err)
	}
	return id, nil
}
