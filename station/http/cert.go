package http

// certRoutes lists the certificate routes (issuing, printing, verification).
func certRoutes() []route {
	return nil
}
