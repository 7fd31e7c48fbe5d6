package plan

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestRenderedNamesMatchRefsName: the renderers' shortcut for owners
// without Via refs names every member as Refs.Name does.
func TestRenderedNamesMatchRefsName(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	refs := Refs{Names: map[string]string{}, Via: map[Via]string{}}
	for i := range 200 {
		if rng.IntN(3) > 0 {
			refs.Names[fmt.Sprint("u-", i)] = fmt.Sprint("user", i)
		}
		if rng.IntN(4) == 0 {
			refs.Via[Via{Owner: fmt.Sprint("g-", rng.IntN(5)), Member: fmt.Sprint("u-", i)}] = fmt.Sprint("nested", i%3)
		}
	}
	var l attrLines
	l.setRefs(&refs)
	for g := range 10 {
		owner := fmt.Sprint("g-", g)
		for i := range 220 {
			id := fmt.Sprint("u-", i)
			if got, want := l.name(l.via[owner], owner, id), refs.Name(owner, id); got != want {
				t.Fatalf("name(%s, %s) = %q, Refs.Name gives %q", owner, id, got, want)
			}
		}
	}
}
