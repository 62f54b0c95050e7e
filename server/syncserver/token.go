package syncserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// MinSecretLen is the shortest token secret New accepts: an HMAC key much
// shorter than its 32-byte output can be guessed offline from one token.
const MinSecretLen = 32

// maxTokenLen bounds the work an unauthenticated caller can make us do.
const maxTokenLen = 4096

// maxTenantLen bounds tenant ids stored in every row.
const maxTenantLen = 128

type tokenPayload struct {
	Tenant string `json:"tenant"`
	Sub    string `json:"sub,omitempty"`
	Exp    int64  `json:"exp,omitempty"`
}

// identity is who a verified token says the caller is.
type identity struct {
	Tenant string
	Sub    string
}

var b64 = base64.RawURLEncoding

// SignToken returns a bearer token for tenant and sub, signed with secret
// (the format is in PROTOCOL.md). A zero exp makes a token that never expires.
func SignToken(secret []byte, tenant, sub string, exp time.Time) string {
	p := tokenPayload{Tenant: tenant, Sub: sub}
	if !exp.IsZero() {
		p.Exp = exp.Unix()
	}
	raw, _ := json.Marshal(p) // a struct of strings and an int always encodes
	head := b64.EncodeToString(raw)
	return head + "." + b64.EncodeToString(mac(secret, head))
}

func mac(secret []byte, head string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(head))
	return m.Sum(nil)
}

// verifyToken checks the signature before it looks at the payload, so an
// attacker learns nothing from how a forged token is rejected.
func verifyToken(secret []byte, token string, now time.Time) (identity, bool) {
	if token == "" || len(token) > maxTokenLen {
		return identity{}, false
	}
	head, sig, ok := strings.Cut(token, ".")
	if !ok || head == "" || sig == "" {
		return identity{}, false
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, head)) {
		return identity{}, false
	}
	raw, err := b64.DecodeString(head)
	if err != nil {
		return identity{}, false
	}
	var p tokenPayload
	if err := json.Unmarshal(raw, &p); err != nil {
		return identity{}, false
	}
	if p.Tenant == "" || len(p.Tenant) > maxTenantLen {
		return identity{}, false
	}
	if p.Exp != 0 && now.Unix() >= p.Exp {
		return identity{}, false
	}
	return identity{Tenant: p.Tenant, Sub: p.Sub}, true
}

func (s *Server) authenticate(r *http.Request) (identity, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return identity{}, errf(http.StatusUnauthorized, CodeUnauthorized, "missing bearer token")
	}
	id, ok := verifyToken(s.cfg.Secret, strings.TrimSpace(token), s.cfg.Now())
	if !ok {
		return identity{}, errf(http.StatusUnauthorized, CodeUnauthorized, "invalid or expired token")
	}
	return id, nil
}
