package queue

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Environment of the child processes of TestBoltKill9.
const (
	killChildEnv = "QUEUE_KILL9_CHILD" // "append" or "hold"
	killPathEnv  = "QUEUE_KILL9_PATH"
)

// TestBoltKill9Child is not a test of its own: TestBoltKill9 runs the test
// binary again with this test selected and QUEUE_KILL9_CHILD set.
//   - append: append entries from several goroutines and print "id <id>"
//     to stdout after each Append returned nil, until killed;
//   - hold: open the file, print "ready" and wait to be killed.
func TestBoltKill9Child(t *testing.T) {
	mode := os.Getenv(killChildEnv)
	if mode == "" {
		t.Skip("run by TestBoltKill9")
	}
	s, err := OpenBolt(os.Getenv(killPathEnv), BoltOptions{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	if mode == "hold" {
		fmt.Println("ready")
		time.Sleep(time.Minute)
		os.Exit(4)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id, err := s.Append(context.Background(), "q", &Entry{Method: "POST", URI: "/hook",
					Body: fmt.Appendf(nil, "%d-%d %s", g, i, strings.Repeat("x", 512))}, Limits{})
				if err != nil {
					fmt.Println("error", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Println("id", id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func startChild(t *testing.T, mode, path string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBoltKill9Child$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+mode, killPathEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

// TestBoltKill9 kills (SIGKILL) a process appending to a queue file in the
// middle of its appends, a few times over the same file, and checks after
// each kill that the file opens cleanly, passes bolt's consistency check
// and holds every entry whose Append had returned.
func TestBoltKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	path := filepath.Join(t.TempDir(), "queue.db")
	var printed []string
	for round := range 4 {
		cmd, out := startChild(t, "append", path)
		killAfter := 20 + rand.IntN(400) // acknowledged ids before the kill
		lines := make(chan string)
		go func() {
			defer close(lines)
			for out.Scan() {
				lines <- out.Text()
			}
		}()
		timeout := time.After(20 * time.Second)
		n := 0
		killed := false
		for !killed {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("round %d: the child ended before it was killed", round)
				}
				id, found := strings.CutPrefix(l, "id ")
				if !found {
					t.Fatalf("round %d: child said %q", round, l)
				}
				printed = append(printed, id)
				if n++; n == killAfter {
					cmd.Process.Kill()
					killed = true
				}
			case <-timeout:
				cmd.Process.Kill()
				killed = true
				if n == 0 {
					t.Fatalf("round %d: no append acknowledged in 20s", round)
				}
			}
		}
		// What the child printed before it died was acknowledged too.
		for l := range lines {
			if id, found := strings.CutPrefix(l, "id "); found && len(id) == 32 {
				printed = append(printed, id)
			}
		}
		cmd.Wait()

		s, err := OpenBolt(path, BoltOptions{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		if err := s.db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				t.Errorf("round %d: bolt check: %v", round, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, id := range printed {
			if _, err := s.Get(context.Background(), "q", id); err != nil {
				missing++
				if missing < 5 {
					t.Errorf("round %d: acknowledged entry %s: %v", round, id, err)
				}
			}
		}
		st, err := s.Stats(context.Background(), "q")
		if err != nil {
			t.Fatal(err)
		}
		list, err := s.List(context.Background(), "q", false, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(list)) != st.Pending || st.Pending < int64(len(printed)) {
			t.Errorf("round %d: %d listed, %d pending counted, %d acknowledged", round, len(list), st.Pending, len(printed))
		}
		t.Logf("round %d: killed after %d acknowledged appends; %d acknowledged in all, %d stored, %d missing", round, n, len(printed), st.Pending, missing)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
}

// TestBoltInUseByAnotherProcess checks the clear error a second process
// gets, and that the lock goes with the process holding it.
func TestBoltInUseByAnotherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "queue.db")
	cmd, out := startChild(t, "hold", path)
	if !out.Scan() || out.Text() != "ready" {
		t.Fatalf("child: %q %v", out.Text(), out.Err())
	}
	_, err := OpenBolt(path, BoltOptions{LockTimeout: 200 * time.Millisecond})
	if want := fmt.Sprintf("queue file %s is in use by another process", path); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("open while the child holds the file: %v, want %q", err, want)
	}
	cmd.Process.Kill()
	cmd.Wait()
	s, err := OpenBolt(path, BoltOptions{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open after the holder died: %v", err)
	}
	s.Close()
}
