package cluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Joining. The leader's technician makes a one-time join code (`station cluster join-code`, or the
// setup page): 80 random bits as 16 characters of Crockford's base32, valid for CodeTTL and for
// MaxCodeFailures wrong tries. On the new box, `station cluster join ADDR CODE` connects to the
// leader's cluster port and proves it knows the code, and the leader proves it knows it too: each
// sends an HMAC of the code over the TLS session's exported keying material (RFC 8446 §7.5), so a
// proof is good for that one connection only and a box in the middle, which would hold two sessions,
// can use neither. The leader then adds the box as a non-voter and answers with the station's keys
// (the files of Secrets), which only the box that proved the code receives. The box promotes itself
// to voter later, once it has caught up (Service.PromoteWhenCaughtUp), if it asked to be one.

// Join code rules.
const (
	CodeTTL         = 30 * time.Minute
	MaxCodeFailures = 5
	codeLen         = 16
	exporterLabel   = "EXPORTER-station-cluster-join"
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, which are read as 1, 1, 0 and V.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Codes holds the leader's current join code.
type Codes struct {
	mu      sync.Mutex
	code    string
	expires time.Time
	fails   int
	Now     func() time.Time // the clock; time.Now when nil
}

func (c *Codes) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// New makes a new join code, replacing the current one, and returns it as the technician types it
// (XXXX-XXXX-XXXX-XXXX) with its end.
func (c *Codes) New() (string, time.Time, error) {
	b := make([]byte, codeLen)
	if _, err := rand.Read(b); err != nil {
		return "", time.Time{}, err
	}
	for i := range b {
		b[i] = crockford[b[i]&31]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.code, c.expires, c.fails = string(b), c.now().Add(CodeTTL), 0
	return FormatCode(c.code), c.expires, nil
}

// Current returns the current code and its end, or "" when there is none or it is used up.
func (c *Codes) Current() (string, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.code == "" || !c.now().Before(c.expires) {
		return "", time.Time{}
	}
	return FormatCode(c.code), c.expires
}

// use checks a joiner's proof over binding and, when it is right, spends the code and returns it.
func (c *Codes) use(proof, binding []byte) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.code == "" || !c.now().Before(c.expires) {
		return "", false
	}
	if !hmac.Equal(proof, codeProof(c.code, "client", binding)) {
		c.fails++
		if c.fails >= MaxCodeFailures {
			c.code = ""
		}
		return "", false
	}
	code := c.code
	c.code = ""
	return code, true
}

// FormatCode groups a code by four characters.
func FormatCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NormalizeCode reads a code as typed: case, dashes and spaces do not matter, and I, L and O are read
// as 1, 1 and 0. It fails when what is left is not a code.
func NormalizeCode(s string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'I' || r == 'L':
			r = '1'
		case r == 'O':
			r = '0'
		case r == 'U':
			r = 'V'
		}
		if !strings.ContainsRune(crockford, r) {
			return "", fmt.Errorf("加入码只含数字和字母，%q 不是", string(r))
		}
		b.WriteRune(r)
	}
	if b.Len() != codeLen {
		return "", fmt.Errorf("加入码是 %d 位（不算横线），输入的是 %d 位", codeLen, b.Len())
	}
	return b.String(), nil
}

// codeProof is one side's proof that it knows code, bound to the TLS session.
func codeProof(code, side string, binding []byte) []byte {
	m := hmac.New(sha256.New, []byte(code))
	m.Write([]byte(side))
	m.Write([]byte{0})
	m.Write(binding)
	return m.Sum(nil)
}

// binding is the TLS session's exported keying material both sides prove the code over.
func binding(st tls.ConnectionState) ([]byte, error) {
	if st.Version < tls.VersionTLS13 {
		return nil, errors.New("join needs TLS 1.3")
	}
	return st.ExportKeyingMaterial(exporterLabel, nil, 32)
}

// JoinRequest is what a new box sends.
type JoinRequest struct {
	ID    string `json:"id"`   // the box's name in the cluster
	Addr  string `json:"addr"` // where the others reach its cluster port
	Voter bool   `json:"voter"`
	Proof []byte `json:"proof"`
}

// JoinAnswer is the leader's answer: its proof, and the station's key files by their path in the
// data directory.
type JoinAnswer struct {
	Proof  []byte            `json:"proof"`
	Leader string            `json:"leader"`
	Voters int               `json:"voters"` // the cluster's voters before this box
	Files  map[string][]byte `json:"files"`
}

var memberName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// checkJoin checks a join request's fields.
func checkJoin(req JoinRequest) error {
	if !memberName.MatchString(req.ID) {
		return fmt.Errorf("box name %q: letters, digits, dot, dash and underscore, up to 63", req.ID)
	}
	if _, _, err := net.SplitHostPort(req.Addr); err != nil {
		return fmt.Errorf("cluster address %q: %w", req.Addr, err)
	}
	return nil
}

// Join asks the leader whose cluster port is at addr to let this box in with code, and returns the
// station's key files. It fails when the leader cannot prove it knows the code.
func Join(ctx context.Context, addr, code string, req JoinRequest) (*JoinAnswer, error) {
	code, err := NormalizeCode(code)
	if err != nil {
		return nil, err
	}
	if err := checkJoin(req); err != nil {
		return nil, err
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // the leader is known by its proof of the code, below
		NextProtos:         []string{httpProto},
	}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("连接 %s 失败：%w", addr, err)
	}
	defer c.Close()
	tc := c.(*tls.Conn)
	bind, err := binding(tc.ConnectionState())
	if err != nil {
		return nil, err
	}
	req.Proof = codeProof(code, "client", bind)
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+"/cluster/v1/join", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(2 * time.Minute))
	}
	if err := hr.Write(c); err != nil {
		return nil, fmt.Errorf("发送加入请求失败：%w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), hr)
	if err != nil {
		return nil, fmt.Errorf("读取加入应答失败：%w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("读取加入应答失败：%w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, answerError(resp.StatusCode, b)
	}
	var ans JoinAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		return nil, fmt.Errorf("加入应答无效：%w", err)
	}
	if !hmac.Equal(ans.Proof, codeProof(code, "server", bind)) {
		return nil, errors.New("对方不知道这个加入码：它不是本站的主机，已中止（什么也没有写入）")
	}
	return &ans, nil
}
