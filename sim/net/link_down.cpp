#include "sim/net/link_down.hpp"

#include <utility>

namespace ftpsim::net {

LinkDown::LinkDown(PacketProcessor* inner, int iface, std::string link, trace::TimeNs from, trace::TimeNs until)
    : inner_(inner), iface_(iface), link_(std::move(link)), from_(from), until_(until) {}

Decision LinkDown::prerouting(Packet& p, const HookContext& ctx, std::vector<mbox::MiddleboxNote>& notes) {
    if (ctx.in_iface == iface_ && ctx.now >= from_ && ctx.now < until_)
        return {Fate::Drop, "link " + link_ + " is down", trace::Fact::LinkDown};
    return inner_ ? inner_->prerouting(p, ctx, notes) : Decision{};
}

Decision LinkDown::postrouting(Packet& p, const HookContext& ctx, std::vector<mbox::MiddleboxNote>& notes) {
    return inner_ ? inner_->postrouting(p, ctx, notes) : Decision{};
}

}  // namespace ftpsim::net
