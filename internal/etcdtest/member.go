package etcdtest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// member is one etcd process of a cluster.
type member struct {
	name, dir    string
	client, peer string // URLs
	cmd          *exec.Cmd
	exited       chan struct{} // closed when cmd has exited
}

// logPath is where the member's output goes, appended across restarts.
func (m *member) logPath() string { return m.dir + ".log" }

// start launches the member. initial is the --initial-cluster value, or
// empty on a restart, where etcd reads the cluster from its data directory.
func (m *member) start(bin, initial string) error {
	args := []string{
		"--name", m.name,
		"--data-dir", m.dir,
		"--listen-client-urls", m.client,
		"--advertise-client-urls", m.client,
		"--listen-peer-urls", m.peer,
		"--initial-advertise-peer-urls", m.peer,
		// Short raft timers: quick elections, and a minimum lease ttl of
		// one second ((3*6/2) heartbeats of 100ms, rounded up).
		"--heartbeat-interval", "100",
		"--election-timeout", "600",
		"--logger", "zap",
		"--log-outputs", "stderr",
	}
	if initial != "" {
		args = append(args, "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "etcdtest")
	}
	log, err := os.OpenFile(m.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("etcd member %s log: %w", m.name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start etcd member %s: %w", m.name, err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func() {
		cmd.Wait()
		log.Close()
		close(m.exited)
	}()
	return nil
}

// running reports whether the member's process is alive.
func (m *member) running() bool {
	if m.exited == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// kill ends the process and waits for it.
func (m *member) kill() {
	if !m.running() {
		return
	}
	m.cmd.Process.Kill()
	<-m.exited
}

// tail returns the last lines of the member's log.
func (m *member) tail() string {
	b, err := os.ReadFile(m.logPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}
