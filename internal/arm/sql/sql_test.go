package sql

import "testing"

func TestComplexEnough(t *testing.T) {
	for pw, want := range map[string]bool{
		"Str0ng!Passw0rd": true, "password": false, "Passw0rd": true, "Short1!": false, "sqladminX1!": false, "ALLUPPER123": false, "ALLUPPER123!": true,
	} {
		if got := complexEnough(pw, "sqladmin"); got != want {
			t.Errorf("%q: %v, want %v", pw, got, want)
		}
	}
}
