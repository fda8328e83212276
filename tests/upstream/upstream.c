#include "upstream.h"
