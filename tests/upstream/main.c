#include "upstream.h"
int main(void) { return 0; }
