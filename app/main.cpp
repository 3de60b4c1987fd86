// Placeholder until the protocol core lands; replaced by the real command line.
#include <cstdio>
int main() { std::puts("ftpsim: under construction"); return 0; }
