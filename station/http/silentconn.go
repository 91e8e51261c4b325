package http

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
)

// silentConns tracks the connections a listener accepts until they close, so that Close can end the
// ones that never sent a byte (a browser's preconnect, an HTTP client's dial race): fasthttp's
// Shutdown would wait for them until the read timeout, although they carry no request.
type silentConns struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

// listener wraps ln so that its connections are tracked.
func (s *silentConns) listener(ln net.Listener) net.Listener { return trackingListener{ln, s} }

// closeSilent closes every tracked connection that has not received a byte.
func (s *silentConns) closeSilent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if !c.heard.Load() {
			c.Conn.Close()
		}
	}
}

type trackingListener struct {
	net.Listener
	s *silentConns
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	if l.s.conns == nil {
		l.s.conns = map[*trackedConn]struct{}{}
	}
	l.s.conns[tc] = struct{}{}
	l.s.mu.Unlock()
	if t, ok := c.(*tls.Conn); ok {
		return trackedTLSConn{tc, t}, nil // fasthttp's IsTLS (and so HSTS) looks for these methods
	}
	return tc, nil
}

// trackedTLSConn is a tracked TLS connection: it keeps tls.Conn's Handshake and ConnectionState.
type trackedTLSConn struct {
	*trackedConn
	tls *tls.Conn
}

func (c trackedTLSConn) Handshake() error                     { return c.tls.Handshake() }
func (c trackedTLSConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

type trackedConn struct {
	net.Conn
	s     *silentConns
	heard atomic.Bool // a byte has arrived
	once  sync.Once
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.heard.Store(true)
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}
