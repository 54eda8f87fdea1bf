/dev/fd/3: line 73: ./ag: No such file or directory
