package http

import (
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// HSTS is the Strict-Transport-Security value of every answer on an HTTPS connection: browsers that
// once reached the station over HTTPS keep to HTTPS for a year.
const HSTS = "max-age=31536000"

// localhostName reports whether host is localhost or a name under .localhost. HSTS is not sent for
// them: a browser keeps HSTS per host name whatever the port, so one visit to https://localhost:8443
// on the box would turn the kiosk's http://localhost:8080 into https://localhost:8080, which does
// not answer. (Browsers ignore HSTS for IP addresses, so 127.0.0.1 needs no exception.)
func localhostName(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// TLSStatus describes the certificate of the station's HTTPS listener for the setup page, so that a
// technician can install the station's CA on a counter terminal and compare its fingerprint.
type TLSStatus struct {
	Enabled bool `json:"enabled"` // the station serves HTTPS
	// StationCA is true when the certificate comes from the station's own CA (created at first start),
	// false when the operator supplied certificate and key files.
	StationCA     bool       `json:"station_ca"`
	CAFingerprint string     `json:"ca_fingerprint_sha256,omitempty"` // AB:CD:… of the CA certificate's DER
	CASubject     string     `json:"ca_subject,omitempty"`
	CANotAfter    *time.Time `json:"ca_not_after,omitempty"`
	Names         []string   `json:"names"`               // the server certificate's names and addresses
	NotAfter      *time.Time `json:"not_after,omitempty"` // the server certificate's end
	Port          string     `json:"https_port,omitempty"`
	// LoopbackOnly is true when the HTTPS listener takes only this box's connections (the demo's).
	LoopbackOnly bool `json:"loopback_only,omitempty"`
	// CACert is the CA certificate in DER, what GET /api/v1/setup/ca.crt sends; nil without a station CA.
	CACert []byte `json:"-"`
}

// TLSInfo reports the HTTPS listener's certificate; it may change while the station runs (a reissue).
type TLSInfo interface {
	TLSStatus() TLSStatus
}

func setupRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/setup/tls", summary: "HTTPS 证书状态与本站根证书指纹（柜台电脑安装前核对）", tag: "setup", public: true,
			reply: TLSStatus{}, status: 200, handle: (*Server).handleTLSStatus},
		{method: "GET", path: "/api/v1/setup/ca.crt", summary: "下载本站根证书（DER，供柜台电脑安装）", tag: "setup", public: true,
			status: 200, handle: (*Server).handleCACert},
	}
}

func (s *Server) handleTLSStatus(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if s.tls == nil {
		return c.JSON(TLSStatus{Names: []string{}})
	}
	st := s.tls.TLSStatus()
	if st.Names == nil {
		st.Names = []string{}
	}
	return c.JSON(st)
}

// handleCACert sends the station CA certificate. It is public: a counter terminal fetches it before it
// trusts the station, and the technician compares its fingerprint with the one the box's own screen
// or `station tls show` prints. DER, so that the file's SHA-256 (sha256sum, certutil -hashfile) is
// the fingerprint.
func (s *Server) handleCACert(c *fiber.Ctx) error {
	if s.tls == nil {
		return station.Errorf(station.EUNAVAILABLE, "本站未启用 HTTPS（配置项 listen-https）")
	}
	st := s.tls.TLSStatus()
	if !st.StationCA || len(st.CACert) == 0 {
		return station.Errorf(station.ENOTFOUND, "本站使用自备证书（配置项 tls-cert），请向该证书的签发方获取根证书")
	}
	c.Set(fiber.HeaderContentType, "application/x-x509-ca-cert")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="station-ca.crt"`)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(st.CACert)
}

// multiListener accepts from several listeners at once (the loopback HTTP one and the HTTPS one), so
// that one Fiber app serves both with a single Serve call.
type multiListener struct {
	lns   []net.Listener
	conns chan net.Conn
	errs  chan error
	done  chan struct{}
	once  sync.Once
}

func newMultiListener(lns []net.Listener) *multiListener {
	m := &multiListener{lns: lns, conns: make(chan net.Conn), errs: make(chan error, len(lns)), done: make(chan struct{})}
	for _, ln := range lns {
		go m.accept(ln)
	}
	return m
}

// accept feeds ln's connections to Accept until ln fails or the multiListener is closed. A passing
// failure (out of file descriptors) is waited out here, as fasthttp does for a single listener; a
// listener that fails for good (closed by someone else) fails the whole, as a single listener would.
func (m *multiListener) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if t, ok := err.(interface{ Temporary() bool }); ok && t.Temporary() {
				select {
				case <-time.After(100 * time.Millisecond):
					continue
				case <-m.done:
					return
				}
			}
			select {
			case m.errs <- err:
			case <-m.done:
			}
			return
		}
		select {
		case m.conns <- c:
		case <-m.done:
			c.Close()
			return
		}
	}
}

func (m *multiListener) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case err := <-m.errs:
		return nil, err
	case <-m.done:
		return nil, net.ErrClosed
	}
}

func (m *multiListener) Close() error {
	var err error
	m.once.Do(func() {
		close(m.done)
		for _, ln := range m.lns {
			if cerr := ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
				err = cerr
			}
		}
	})
	return err
}

// Addr is the first listener's address.
func (m *multiListener) Addr() net.Addr { return m.lns[0].Addr() }
