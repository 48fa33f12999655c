/* placeholder test */
int main(void) { return 77; }
