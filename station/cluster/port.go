// Package cluster connects the boxes of one station: the cluster port each box listens on, which
// carries raft's traffic and the members' requests to each other over mutually authenticated TLS,
// the one-time join code that lets a new box in, commands forwarded from a follower to the leader,
// and the members' progress for the technician's status.
//
// One port, two protocols. A box's cluster port takes TLS connections and tells them apart by ALPN:
// "station-raft/1" is raft's transport (hashicorp/raft's NetworkTransport over this stream layer),
// "http/1.1" the members' HTTP requests. Both need a member certificate issued by the station CA
// (station/lantls), except the join request, which a new box makes before it has one and which is
// authenticated by the join code instead (join.go).
package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/civic-station/station/station/lantls"
	sraft "github.com/civic-station/station/station/raft"
)

// ALPN protocol names on the cluster port.
const (
	raftProto = "station-raft/1"
	httpProto = "http/1.1"
)

// DefaultPort is the cluster port's default.
const DefaultPort = 8444

// handshakeTimeout bounds a TLS handshake on the cluster port.
const handshakeTimeout = 10 * time.Second

// Port is a box's cluster port.
type Port struct {
	ln        net.Listener
	advertise string
	creds     *lantls.MemberState
	logger    *slog.Logger
	now       func() time.Time

	raftConns chan net.Conn
	httpConns chan net.Conn
	srv       *http.Server
	done      chan struct{}
	closeOnce sync.Once
}

// Listen opens the cluster port on ln (a TCP listener the caller bound), reachable by the other boxes
// at advertise (HOST:PORT). Members' HTTP requests go to handler; raft's connections to the stream
// layer (Port.Transport).
func Listen(ln net.Listener, advertise string, creds *lantls.MemberState, handler http.Handler, logger *slog.Logger) *Port {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Port{ln: ln, advertise: advertise, creds: creds, logger: logger, now: time.Now,
		raftConns: make(chan net.Conn), httpConns: make(chan net.Conn), done: make(chan struct{})}
	p.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
	go p.accept()
	go p.srv.Serve(&chanListener{p: p})
	return p
}

// Advertise is where the other boxes reach this one.
func (p *Port) Advertise() string { return p.advertise }

// serverTLS is the cluster port's TLS configuration: the member certificate, and the peer's
// verified when it presents one (the join request comes without).
func (p *Port) serverTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{p.creds.Cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    p.creds.Pool,
		NextProtos:   []string{raftProto, httpProto},
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return nil
			}
			_, err := lantls.VerifyMember(raw, p.creds.Pool, p.now())
			return err
		},
	}
}

// ClientTLS is the TLS configuration a member dials another with: its member certificate, and the
// other's checked to be a member certificate of the same CA (not its host name: boxes are known by
// their addresses, which DHCP may change).
func ClientTLS(creds *lantls.MemberState, proto string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{creds.Cert},
		InsecureSkipVerify: true, // VerifyPeerCertificate checks the chain against the station CA
		NextProtos:         []string{proto},
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := lantls.VerifyMember(raw, creds.Pool, time.Now())
			return err
		},
	}
}

func (p *Port) accept() {
	conf := p.serverTLS()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			p.logger.Warn("cluster port", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go p.route(tls.Server(c, conf))
	}
}

// route hands a connection to raft or to the HTTP server by its protocol, after the handshake.
func (p *Port) route(c *tls.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	if err := c.HandshakeContext(ctx); err != nil {
		p.logger.Debug("cluster port: handshake", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	st := c.ConnectionState()
	to := p.httpConns
	if st.NegotiatedProtocol == raftProto {
		if len(st.PeerCertificates) == 0 {
			p.logger.Warn("cluster port: raft connection without a member certificate", "remote", c.RemoteAddr().String())
			c.Close()
			return
		}
		to = p.raftConns
	}
	select {
	case to <- c:
	case <-p.done:
		c.Close()
	}
}

// Close stops the port: the listener, the HTTP server and the connections waiting for raft.
func (p *Port) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.done)
		err = p.ln.Close()
		p.srv.Close()
	})
	return err
}

// Transport is raft's network transport over the port; its log lines go to logger (nil: the port's).
func (p *Port) Transport(logger *slog.Logger) *hraft.NetworkTransport {
	if logger == nil {
		logger = p.logger
	}
	return hraft.NewNetworkTransportWithConfig(&hraft.NetworkTransportConfig{
		Stream:  &streamLayer{p: p},
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  sraft.HCLog(logger),
	})
}

// streamLayer is raft's side of the port.
type streamLayer struct{ p *Port }

var _ hraft.StreamLayer = (*streamLayer)(nil)

func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.p.raftConns:
		return c, nil
	case <-s.p.done:
		return nil, net.ErrClosed
	}
}

func (s *streamLayer) Close() error { return s.p.Close() }

func (s *streamLayer) Addr() net.Addr { return advertised(s.p.advertise) }

func (s *streamLayer) Dial(addr hraft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: ClientTLS(s.p.creds, raftProto)}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", string(addr))
	if err != nil {
		return nil, fmt.Errorf("cluster: dial %s: %w", addr, err)
	}
	return c, nil
}

// advertised is the advertised address as a net.Addr (raft takes its String).
type advertised string

func (a advertised) Network() string { return "tcp" }
func (a advertised) String() string  { return string(a) }

// chanListener is the HTTP server's side of the port.
type chanListener struct{ p *Port }

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.p.httpConns:
		return c, nil
	case <-l.p.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { return nil }
func (l *chanListener) Addr() net.Addr { return l.p.ln.Addr() }

// AdvertiseAddr is where the other boxes reach a cluster port bound to listen: listen itself when it
// names a host, else the box's first LAN address (IPv4 first) with its port.
func AdvertiseAddr(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("cluster address %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return listen, nil
	}
	var v6 string
	for _, n := range lantls.LocalNames(nil) {
		ip := net.ParseIP(n)
		if ip == nil || ip.IsLoopback() {
			continue
		}
		if ip.To4() != nil {
			return net.JoinHostPort(n, port), nil
		}
		if v6 == "" {
			v6 = net.JoinHostPort(n, port)
		}
	}
	if v6 != "" {
		return v6, nil
	}
	return net.JoinHostPort("127.0.0.1", port), nil
}
