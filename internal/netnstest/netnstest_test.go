package netnstest

import (
	"net"
	"os/exec"
	"testing"
	"time"
)

func TestHostsReachable(t *testing.T) {
	hosts := Hosts(t, 2)
	for _, h := range hosts {
		// a listener inside the namespace, dialled from the test's namespace
		cmd := exec.Command("ip", "netns", "exec", h.NS, "/usr/bin/python3", "-c",
			"import socket;s=socket.socket();s.bind(('"+h.Addr+"',7000));s.listen();print('ok',flush=True);c,_=s.accept();c.send(b'hi');c.close()")
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Skip("python not available: ", err)
		}
		buf := make([]byte, 3)
		out.Read(buf)
		c, err := net.DialTimeout("tcp", net.JoinHostPort(h.Addr, "7000"), 3*time.Second)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("dial %s in %s: %v", h.Addr, h.NS, err)
		}
		b := make([]byte, 2)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _ := c.Read(b)
		c.Close()
		cmd.Wait()
		if string(b[:n]) != "hi" {
			t.Fatalf("got %q from %s", b[:n], h.NS)
		}
	}
}
