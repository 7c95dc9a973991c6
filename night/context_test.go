package night

import "testing"

func TestAccountingCheck(t *testing.T) {
	a := NewAccounting()
	a.Read, a.Used = 10, 7
	a.Quarantined["x"] = 2
	a.Excluded["y"] = 1
	if err := a.Check(); err != nil {
		t.Errorf("balanced accounting rejected: %v", err)
	}
	a.Used--
	if err := a.Check(); err == nil {
		t.Error("a lost row went unnoticed")
	}
}
