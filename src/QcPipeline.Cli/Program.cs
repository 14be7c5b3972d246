Console.WriteLine("qc");
