// The control dialogues of the real captures in tests/data/captures (curl 7.88 + vsftpd 3.0.3),
// as the tests compare them ("C: USER anonymous", "S: 230 Login successful."): one copy for the
// client against canned replies (tests/protocol/test_client.cpp), the client against our server
// (test_pair.cpp) and the capture import (tests/live/test_import.cpp).
#pragma once

#include <string>
#include <vector>

namespace ftpsim::testing {

// curl-vsftpd-cnat-off-epsv: curl downloads file.bin over EPSV; vsftpd announces port 30007.
inline const std::vector<std::string> kCurlVsftpdEpsvDownload{
    "S: 220 (vsFTPd 3.0.3)",
    "C: USER anonymous",
    "S: 230 Login successful.",
    "C: PWD",
    "S: 257 \"/\" is the current directory",
    "C: EPSV",
    "S: 229 Entering Extended Passive Mode (|||30007|)",
    "C: TYPE I",
    "S: 200 Switching to Binary mode.",
    "C: SIZE file.bin",
    "S: 213 65536",
    "C: RETR file.bin",
    "S: 150 Opening BINARY mode data connection for file.bin (65536 bytes).",
    "S: 226 Transfer complete.",
    "C: QUIT",
    "S: 221 Goodbye.",
};

// curl-vsftpd-cnat-on-active: curl downloads file.bin in active mode, announcing 192.168.1.10
// port 60149 in its PORT (as the client's link saw it).
inline const std::vector<std::string> kCurlVsftpdActiveDownload{
    "S: 220 (vsFTPd 3.0.3)",
    "C: USER anonymous",
    "S: 230 Login successful.",
    "C: PWD",
    "S: 257 \"/\" is the current directory",
    "C: PORT 192,168,1,10,234,245",
    "S: 200 PORT command successful. Consider using PASV.",
    "C: TYPE I",
    "S: 200 Switching to Binary mode.",
    "C: SIZE file.bin",
    "S: 213 65536",
    "C: RETR file.bin",
    "S: 150 Opening BINARY mode data connection for file.bin (65536 bytes).",
    "S: 226 Transfer complete.",
    "C: QUIT",
    "S: 221 Goodbye.",
};

// curl-vsftpd-cnat-off-active: behind a NAT with no FTP helper, curl's PORT names its private
// address (port 57803) and vsftpd refuses it; curl quits.
inline const std::vector<std::string> kCurlVsftpdPortRefused{
    "S: 220 (vsFTPd 3.0.3)",
    "C: USER anonymous",
    "S: 230 Login successful.",
    "C: PWD",
    "S: 257 \"/\" is the current directory",
    "C: PORT 192,168,1,10,225,203",
    "S: 500 Illegal PORT command.",
    "C: QUIT",
    "S: 221 Goodbye.",
};

}  // namespace ftpsim::testing
