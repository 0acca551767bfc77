module passvol.io/caps-exec

go 1.21
