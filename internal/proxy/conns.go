package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// connListener hands connections accepted elsewhere (CONNECT tunnels) to an
// http.Server, which then speaks HTTP/1.1 or HTTP/2 on them.
type connListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnListener() *connListener {
	return &connListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// responseWriter is a minimal HTTP/1.1 response writer for plain requests
// read off a tunnel, buffering the body so Content-Length is exact.
type responseWriter struct {
	c      net.Conn
	header http.Header
	status int
	body   []byte
}

func newResponseWriter(c net.Conn) *responseWriter {
	return &responseWriter{c: c, header: http.Header{}}
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, b...)
	return len(b), nil
}

func (w *responseWriter) finish(req *http.Request) error {
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w.c)
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", w.status, http.StatusText(w.status))
	w.header.Set("Content-Length", strconv.Itoa(len(w.body)))
	if req.Close {
		w.header.Set("Connection", "close")
	}
	if err := w.header.Write(bw); err != nil {
		return err
	}
	bw.WriteString("\r\n")
	if req.Method != http.MethodHead {
		bw.Write(w.body)
	}
	if err := bw.Flush(); err != nil {
		return errors.Join(err, w.c.Close())
	}
	return nil
}
