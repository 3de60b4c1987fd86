// The data-connection address parsers on arbitrary text: PORT, 227, EPRT, 229, EPSV, SPSV
// (identifier and 227), SOCK and 255, and parse_ip. Each parser runs on the whole input; when one
// accepts, its formatter's output must parse back to the same value (format/parse round trip),
// and to_string must not crash.
#include <string>

#include "common.hpp"

using namespace ftpsim::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    if (auto ip = parse_ip(in)) {
        const std::string text = ip->to_string();
        auto again = parse_ip(text);
        FUZZ_CHECK(again && *again == *ip, text);
        (void)ip->is_private();
        (void)ip->is_unspecified();
        if (ip->is_v4()) FUZZ_CHECK(IpAddress::v4(ip->v4_host_order()) == *ip, text);
    }

    if (auto hp = parse_port_arg(in)) {
        FUZZ_CHECK(hp->addr.is_v4(), in);
        const std::string text = format_port_arg(*hp);
        auto again = parse_port_arg(text);
        FUZZ_CHECK(again && *again == *hp, text);
        (void)hp->to_string();
    }

    if (auto hp = parse_227_text(in)) {
        const std::string text = format_227(*hp);
        auto again = parse_227_text(text);
        FUZZ_CHECK(again && *again == *hp, text);
    }

    const EprtResult eprt = parse_eprt(in);
    if (eprt.status != EprtStatus::Malformed)
        FUZZ_CHECK(ftpsim::fuzz::within(eprt.protocol, in), in);
    if (eprt.status == EprtStatus::Ok) {
        for (char delim : {'|', '!', '~'}) {
            const std::string text = format_eprt_arg(eprt.hp, delim);
            const EprtResult again = parse_eprt(text);
            FUZZ_CHECK(again.status == EprtStatus::Ok && again.hp == eprt.hp, text);
        }
        auto opt = parse_eprt_arg(in);
        FUZZ_CHECK(opt && *opt == eprt.hp, in);
        (void)eprt.hp.to_string();
    } else {
        FUZZ_CHECK(!parse_eprt_arg(in), in);
    }

    if (auto port = parse_229_text(in)) {
        const std::string text = format_229(*port);
        auto again = parse_229_text(text);
        FUZZ_CHECK(again && *again == *port, text);
    }

    (void)parse_epsv_arg(in);

    if (is_valid_spsv_id(in)) {
        const std::string text = format_spsv_227(in);
        auto again = parse_spsv_227_text(text);
        FUZZ_CHECK(again && *again == in, text);
    }
    if (auto id = parse_spsv_227_text(in)) {
        FUZZ_CHECK(ftpsim::fuzz::within(*id, in), in);
        if (is_valid_spsv_id(*id)) {
            const std::string text = format_spsv_227(*id);
            auto again = parse_spsv_227_text(text);
            FUZZ_CHECK(again && *again == *id, text);
        }
    }

    if (auto sock = parse_sock_arg(in)) {
        FUZZ_CHECK(ftpsim::fuzz::within(sock->host, in), in);
        std::string text = std::string(sock->host) + "," + std::to_string(sock->socket);
        auto again = parse_sock_arg(text);
        FUZZ_CHECK(again && again->host == sock->host && again->socket == sock->socket, text);
    }

    if (auto socket = parse_255_text(in)) {
        const std::string text = format_255(*socket);
        auto again = parse_255_text(text);
        FUZZ_CHECK(again && *again == *socket, text);
    }
    return 0;
}
