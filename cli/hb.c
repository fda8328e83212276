#include <stdio.h>
#include <heavenbase/heavenbase.h>
#include "cli.h"
int main(int argc, char **argv) { (void)argc; (void)argv; printf("hb %s\n", hvb_version()); return 0; }
