// sshprobe connects the way pulumi-command's remote connection does
// (provider/pkg/provider/remote/connection.go, SSHConfig, v1.2.1): with a
// pinned host key, the client offers only that key's type as host key
// algorithm and accepts only that key. It runs `true` and prints "ok", or
// the error and exits 1. Built from golang.org/x/crypto at the version
// pulumi-command v1.2.1 requires.
package main

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: sshprobe HOST:PORT USER PRIVATE_KEY_FILE 'TYPE BASE64'")
		os.Exit(2)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(os.Args[4]))
	if err != nil {
		fmt.Println("failed to parse host key:", err)
		os.Exit(1)
	}
	keyPEM, err := os.ReadFile(os.Args[3])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	config := &ssh.ClientConfig{
		User:              os.Args[2],
		HostKeyCallback:   ssh.FixedHostKey(hostKey),
		HostKeyAlgorithms: []string{hostKey.Type()},
		Timeout:           15 * time.Second,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signer)},
	}
	client, err := ssh.Dial("tcp", os.Args[1], config)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	defer session.Close()
	if err := session.Run("true"); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("ok")
}
