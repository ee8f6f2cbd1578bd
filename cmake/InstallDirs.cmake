# Where `cmake --install` puts what is not a program or a library: GNUInstallDirs for the usual
# directories, and the directories this system's systemd and D-Bus read, asked from pkg-config
# (systemd.pc, dbus-1.pc) as distributions do. Every one is a cache variable: set it to override.
#
#   RINGLOG_SYSTEMDUNITDIR  ringlogd.service, ringlogd.socket  (Debian 12: /lib/systemd/system)
#   RINGLOG_SYSUSERSDIR     sysusers.d/ringlogd.conf           (/usr/lib/sysusers.d)
#   RINGLOG_TMPFILESDIR     tmpfiles.d/ringlogd.conf           (/usr/lib/tmpfiles.d)
#   RINGLOG_DBUSDATADIR     dbus-1/system.d, system-services, interfaces (/usr/share/dbus-1)
#   RINGLOG_CONFDIR         ringlogd.conf, the example with every setting commented out
#                           (/etc/ringlogd when the prefix is /usr)
#
# ringlogd reads /etc/ringlogd/ringlogd.conf unless told otherwise: with another RINGLOG_CONFDIR,
# the installed ringlogd.service passes --config.
find_package(PkgConfig REQUIRED)

function(ringlog_install_dir var module pkgvar fallback doc)
  if(NOT DEFINED CACHE{${var}})
    set(value "")
    if(module)
      pkg_get_variable(value ${module} ${pkgvar})
    endif()
    if(NOT value)
      set(value "${fallback}")
    endif()
    set(${var} "${value}" CACHE PATH "${doc}")
  endif()
endfunction()

ringlog_install_dir(RINGLOG_SYSTEMDUNITDIR systemd systemdsystemunitdir
                    "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" "systemd system units")
ringlog_install_dir(RINGLOG_SYSUSERSDIR systemd sysusersdir
                    "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d" "sysusers.d entries")
ringlog_install_dir(RINGLOG_TMPFILESDIR systemd tmpfilesdir
                    "${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d" "tmpfiles.d entries")
# dbus-1.pc (libdbus-1-dev) says where its datadir is; without it, ours.
ringlog_install_dir(RINGLOG_DBUSDATADIR dbus-1 datadir "${CMAKE_INSTALL_FULL_DATADIR}"
                    "the data directory holding dbus-1/system.d and dbus-1/system-services")
ringlog_install_dir(RINGLOG_CONFDIR "" "" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/ringlogd"
                    "ringlogd's configuration directory")
