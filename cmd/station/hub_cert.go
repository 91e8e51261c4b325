package main

import (
	"context"
	"fmt"
	"io"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
)

// hubRevoke runs `station hub revoke --station ID --certificate ID --reason R`: the data center revokes
// a certificate. The revocation is published to every station: the issuing one marks the certificate
// revoked, and every station's verification answers 已撤销 for it.
func hubRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, m := hubFlags("station hub revoke", stderr)
	stationID := fs.String("station", "", "开具证明的站点编号")
	certificateID := fs.String("certificate", "", "证明编号（二维码中的证明ID）")
	reason := fs.String("reason", "", "撤销原因")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if *stationID == "" || *certificateID == "" || *reason == "" {
		fmt.Fprint(stderr, "缺少 --station、--certificate 或 --reason\n\n"+hubUsage)
		return 2
	}
	if !m.openTool(ctx, stderr) {
		return 1
	}
	defer m.Close()
	r := station.Revocation{StationID: *stationID, CertificateID: *certificateID, Reason: *reason}
	if _, err := hub.PublishRevocation(ctx, m.Store, r, m.Now()); err != nil {
		fmt.Fprintln(stderr, station.ErrorMessage(err))
		return 1
	}
	fmt.Fprintf(stdout, "撤销已发布，各站点下次同步时生效：站点 %s 证明 %s\n", *stationID, *certificateID)
	return 0
}
