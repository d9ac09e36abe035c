// Package nohome keeps go-xla quiet on a Linux machine without $HOME (a service, a container started with env -i):
// go-xla's pjrt package logs "Couldn't get user's home directory -- it won't be searched for PJRT plugins" with
// klog.Errorf in its init when $HOME is unset and $PJRT_PLUGIN_LIBRARY_PATH is not set, once per process, which
// was two lines before anything `vit` said (vit restarts itself once, backend.RestartWithMallocTunables).
//
// Its init sets $PJRT_PLUGIN_LIBRARY_PATH, in that case only, to the folders go-xla would search without $HOME
// (SystemPluginDirs and the absolute folders of $LD_LIBRARY_PATH; not /etc/ld.so.conf's system folders, which hold
// no PJRT plugins in practice and which package backend leaves out too), so that go-xla's init does not ask for the
// home folder. It must run before go-xla's: Go initialises, of the packages whose imports are initialised, the
// first by import path, and this package imports only os and strings, which go-xla's klog imports too, and sorts
// (github.com/vitnb/...) before klog (k8s.io/...), without which go-xla's pjrt cannot start. Package backend imports
// it; TestNoHomeLine checks the order in a real process.
package nohome
