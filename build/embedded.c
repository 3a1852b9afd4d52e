#include "server/embedded.h"
const struct embedded_file embedded_files[] = {
	{0, 0, 0}
};
