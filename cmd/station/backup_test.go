package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/civic-station/station/station/blob"
	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/sqlite"
)

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.Contains(p, string(filepath.Separator)+"tmp"+string(filepath.Separator)) {
			n++
		}
		return nil
	})
	return n
}

// TestBackupWhileTakingApplicationsAndRestoreOnANewBox backs up a station while staff keep taking
// applications, restores the archive into a new data directory with the data key carried separately,
// and finds every application acknowledged before the backup began, with its ID number readable.
func TestBackupWhileTakingApplicationsAndRestoreOnANewBox(t *testing.T) {
	dir := t.TempDir()
	s := startStationIn(t, dir, func(m *Main) { m.ListenHTTPS = "127.0.0.1:0" }) // HTTPS: the station CA is backed up too
	counter := s.login(t, "counter1")
	before := map[string]string{} // application ID → ID number
	for i := 0; i < 20; i++ {
		id := validID(fmt.Sprintf("11010119900307%03d", i))
		before[s.intake(t, counter, "MZ-001", id).ID] = id
	}

	// Intakes go on while the backup runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	during := 0
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.intake(t, counter, "MZ-001", validID(fmt.Sprintf("11010119850101%03d", i%1000)))
			during++
		}
	}()
	out := filepath.Join(t.TempDir(), "station.stationbak")
	code, stdout, stderr := runCLI(t, "backup", "--data", dir, "--to", out)
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup: exit %d: %s %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "备份 100%") || !strings.Contains(stdout, "已备份到 "+out) {
		t.Errorf("backup output: %q %q", stdout, stderr)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if _, err := os.Stat(out + ".partial"); err == nil {
		t.Error("the partial file was left behind")
	}
	t.Logf("%d intakes during the backup", during)

	// A new box: the key comes from its own safe place.
	newBox := filepath.Join(t.TempDir(), "data")
	if code, _, stderr := runCLI(t, "restore", "--from", out, "--data", newBox); code != 1 || !strings.Contains(stderr, "找不到数据密钥") {
		t.Errorf("restore without a key: exit %d %q", code, stderr)
	}
	code, stdout, stderr = runCLI(t, "restore", "--from", out, "--data", newBox, "--key", filepath.Join(dir, "datakey"))
	if code != 0 || !strings.Contains(stderr, "恢复 100%") {
		t.Fatalf("restore: exit %d: %s %s", code, stdout, stderr)
	}
	ctx := context.Background()
	db, err := openStationDB(ctx, newBox, sqlite.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, err := datakey.Load(filepath.Join(newBox, "datakey"))
	if err != nil {
		t.Fatal(err)
	}
	for id, number := range before {
		a, err := db.Application(ctx, id)
		if err != nil {
			t.Fatalf("application %s acknowledged before the backup is missing: %v", id, err)
		}
		if got, err := key.Open(a.Applicant.IDNumber); err != nil || got != number {
			t.Errorf("application %s: ID number %q, %v", id, got, err)
		}
	}
	for _, sub := range []string{"blobs", "sync", "tls"} {
		want := countFiles(t, filepath.Join(dir, sub))
		if _, err := os.Stat(filepath.Join(dir, sub, "status.json")); err == nil {
			want-- // the running syncer's status, not the station's
		}
		if got := countFiles(t, filepath.Join(newBox, sub)); got != want {
			t.Errorf("%s: %d files restored, want %d", sub, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(newBox, "cert-signing.pem")); err != nil {
		t.Errorf("the certificate signing key was not restored: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(newBox, "tls", "ca.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the station CA key was not restored with mode 0600: %v", err)
	}

	// Over the running station: refused without --replace, and refused while it answers.
	if code, _, stderr := runCLI(t, "restore", "--from", out, "--data", dir); code != 1 || !strings.Contains(stderr, "--replace") {
		t.Errorf("restore over data without --replace: exit %d %q", code, stderr)
	}
	t.Setenv("STATION_CONFIG", writeConfig(t, "data = \""+dir+"\"\nlisten = \""+s.HTTP.Addr().String()+"\"\n"))
	if code, _, stderr := runCLI(t, "restore", "--from", out, "--data", dir, "--replace"); code != 1 || !strings.Contains(stderr, "仍在运行") {
		t.Errorf("restore over a running station: exit %d %q", code, stderr)
	}

	// --replace on a stopped box keeps the old directory aside.
	if code, _, stderr := runCLI(t, "restore", "--from", out, "--data", newBox, "--replace"); code != 0 {
		t.Fatalf("restore --replace: exit %d %s", code, stderr)
	}
	kept, _ := filepath.Glob(newBox + ".before-restore-*")
	if len(kept) != 1 {
		t.Errorf("kept directories: %v", kept)
	}
}

func TestRestoreRefusesADamagedArchiveAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	startStationIn(t, dir, nil)
	out := filepath.Join(t.TempDir(), "b.stationbak")
	if code, _, stderr := runCLI(t, "backup", "--data", dir, "--to", out); code != 0 {
		t.Fatal(stderr)
	}
	b, _ := os.ReadFile(out)
	b[len(b)/2] ^= 1
	bad := filepath.Join(t.TempDir(), "bad.stationbak")
	os.WriteFile(bad, b, 0o600)
	newBox := filepath.Join(t.TempDir(), "data")
	code, _, stderr := runCLI(t, "restore", "--from", bad, "--data", newBox, "--key", filepath.Join(dir, "datakey"))
	if code != 1 || !strings.Contains(stderr, "备份文件已损坏或不完整") {
		t.Errorf("exit %d %q", code, stderr)
	}
	if _, err := os.Stat(newBox); err == nil {
		t.Error("a refused restore created the data directory")
	}
	if _, err := os.Stat(newBox + ".restoring"); err == nil {
		t.Error("a refused restore left its staging directory")
	}
	// Another station's key.
	other := t.TempDir()
	startStationIn(t, other, nil)
	code, _, stderr = runCLI(t, "restore", "--from", out, "--data", newBox, "--key", filepath.Join(other, "datakey"))
	if code != 1 || !strings.Contains(stderr, "数据密钥不对") {
		t.Errorf("another key: exit %d %q", code, stderr)
	}
	// The backup file name is never overwritten.
	if code, _, stderr := runCLI(t, "backup", "--data", dir, "--to", out); code != 1 || !strings.Contains(stderr, "已存在") {
		t.Errorf("backup over an existing file: exit %d %q", code, stderr)
	}
}

// TestABackupWithAPassphraseRestoresWithoutTheKeyFile: the passphrase alone restores on a new box;
// verify reads the whole archive; a wrong passphrase changes nothing.
func TestABackupWithAPassphraseRestoresWithoutTheKeyFile(t *testing.T) {
	dir := t.TempDir()
	s := startStationIn(t, dir, nil)
	counter := s.login(t, "counter1")
	a := s.intake(t, counter, "MZ-001", validID("11010119900307123"))
	pass := writeConfig(t, "a long passphrase for the box\n") // any file will do
	out := filepath.Join(t.TempDir(), "p.stationbak")
	code, stdout, stderr := runCLI(t, "backup", "--data", dir, "--to", out, "--passphrase-file", pass)
	if code != 0 || !strings.Contains(stdout, "附带用口令加密的数据密钥") {
		t.Fatalf("backup: %d %q %q", code, stdout, stderr)
	}
	if code, stdout, stderr := runCLI(t, "backup", "verify", out, "--passphrase-file", pass); code != 0 || !strings.Contains(stdout, "备份完好") {
		t.Errorf("verify: %d %q %q", code, stdout, stderr)
	}
	wrong := writeConfig(t, "not the passphrase at all\n")
	newBox := filepath.Join(t.TempDir(), "data")
	if code, _, stderr := runCLI(t, "restore", "--from", out, "--data", newBox, "--passphrase-file", wrong); code != 1 || !strings.Contains(stderr, "口令不对") {
		t.Errorf("wrong passphrase: %d %q", code, stderr)
	}
	if _, err := os.Stat(newBox); err == nil {
		t.Error("a refused restore created the data directory")
	}
	if code, _, stderr := runCLI(t, "restore", "--from", out, "--data", newBox, "--passphrase-file", pass); code != 0 {
		t.Fatalf("restore: %d %q", code, stderr)
	}
	key, err := datakey.Load(filepath.Join(newBox, "datakey"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := openStationDB(context.Background(), newBox, sqlite.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app, err := db.Application(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := key.Open(app.Applicant.IDNumber); err != nil || n != validID("11010119900307123") {
		t.Errorf("restored ID number %q, %v", n, err)
	}
	// Without a passphrase the backup says it holds no key, and restoring by passphrase is refused.
	plain := filepath.Join(t.TempDir(), "plain.stationbak")
	code, stdout, _ = runCLI(t, "backup", "--data", dir, "--to", plain)
	if code != 0 || !strings.Contains(stdout, "不含数据密钥") {
		t.Errorf("plain backup: %d %q", code, stdout)
	}
	if code, _, stderr := runCLI(t, "restore", "--from", plain, "--data", filepath.Join(t.TempDir(), "x"), "--passphrase-file", pass); code != 1 || !strings.Contains(stderr, "不含数据密钥") {
		t.Errorf("passphrase on a keyless backup: %d %q", code, stderr)
	}
	b, _ := os.ReadFile(plain)
	b[len(b)-30] ^= 4
	os.WriteFile(plain, b, 0o600)
	if code, _, stderr := runCLI(t, "backup", "verify", plain, "--key", filepath.Join(dir, "datakey")); code != 1 || !strings.Contains(stderr, "已损坏") {
		t.Errorf("verify of a flipped byte: %d %q", code, stderr)
	}
}

// TestABlobThatRottedOnTheStationIsRefusedByVerifyAndRestore: the backup takes blobs by their
// content address without hashing them, so a blob whose content no longer matches its name goes into
// the archive as it is; `backup verify` and `restore` hash it, refuse the archive naming the blob, and
// the restore changes nothing. A sound blob restores byte for byte.
func TestABlobThatRottedOnTheStationIsRefusedByVerifyAndRestore(t *testing.T) {
	dir := t.TempDir()
	startStationIn(t, dir, nil)
	store, err := blob.Open(dir, blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	scan := []byte(strings.Repeat("a scanned page ", 20_000))
	sum, _, err := store.Put(strings.NewReader(string(scan)))
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "good.stationbak")
	if code, _, stderr := runCLI(t, "backup", "--data", dir, "--to", good); code != 0 {
		t.Fatal(stderr)
	}
	newBox := filepath.Join(t.TempDir(), "data")
	if code, _, stderr := runCLI(t, "restore", "--from", good, "--data", newBox, "--key", filepath.Join(dir, "datakey")); code != 0 {
		t.Fatal(stderr)
	}
	rel := filepath.Join("blobs", sum[:2], sum[2:])
	if b, err := os.ReadFile(filepath.Join(newBox, rel)); err != nil || string(b) != string(scan) {
		t.Fatalf("restored blob: %d bytes, %v", len(b), err)
	}

	rotted := []byte(string(scan))
	rotted[1000] ^= 0x20
	if err := os.WriteFile(filepath.Join(dir, rel), rotted, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "rotted.stationbak")
	if code, _, stderr := runCLI(t, "backup", "--data", dir, "--to", bad); code != 0 {
		t.Fatal(stderr)
	}
	name := sum[:2] + "/" + sum[2:]
	if code, _, stderr := runCLI(t, "backup", "verify", bad, "--data", dir); code != 1 || !strings.Contains(stderr, "备份前已在服务站磁盘上损坏") || !strings.Contains(stderr, name) {
		t.Errorf("verify: exit %d %q", code, stderr)
	}
	otherBox := filepath.Join(t.TempDir(), "data")
	if code, _, stderr := runCLI(t, "restore", "--from", bad, "--data", otherBox, "--key", filepath.Join(dir, "datakey")); code != 1 || !strings.Contains(stderr, "未做任何改动") || !strings.Contains(stderr, name) {
		t.Errorf("restore: exit %d %q", code, stderr)
	}
	if _, err := os.Stat(otherBox); err == nil {
		t.Error("a refused restore created the data directory")
	}
}
