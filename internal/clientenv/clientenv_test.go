package clientenv

import (
	"os/exec"
	"strings"
	"testing"
)

func TestExportRoundTripsThroughTheShell(t *testing.T) {
	env := map[string]string{"A": "plain", "B": "it's got 'quotes' and $vars", "C": "", "D": "http://run:s3cr%2Bt@127.0.0.1:7480"}
	script := Export(env) + `printf '%s|%s|%s|%s' "$A" "$B" "$C" "$D"`
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "plain|it's got 'quotes' and $vars||http://run:s3cr%2Bt@127.0.0.1:7480"; string(out) != want {
		t.Fatalf("shell read %q, want %q", out, want)
	}
}

func TestEnvironOverrides(t *testing.T) {
	got := Environ([]string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "HOME=/root", "NO_PROXY=localhost"}, Merge(Trust("/b.pem", "/ca.pem"), Proxy("http://p")))
	joined := strings.Join(got, "\n")
	for _, want := range []string{"SSL_CERT_FILE=/b.pem", "HOME=/root", "NO_PROXY=", "no_proxy=", "http_proxy=http://p", "NODE_EXTRA_CA_CERTS=/ca.pem"} {
		if !strings.Contains(joined+"\n", want+"\n") {
			t.Errorf("missing %s in %v", want, got)
		}
	}
	if strings.Contains(joined, "ca-certificates.crt") || strings.Contains(joined, "NO_PROXY=localhost") {
		t.Errorf("inherited values were not overwritten: %v", got)
	}
}

func TestWithCredentials(t *testing.T) {
	u, err := WithCredentials("http://127.0.0.1:7480", "run", "a/b+c")
	if err != nil || u != "http://run:a%2Fb+c@127.0.0.1:7480" {
		t.Fatalf("%q %v", u, err)
	}
}
