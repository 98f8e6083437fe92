print("akin")
